// The epoch feed's write side and the epoch column. Production code reaches these only through
// `commitChange` (server/entitlements/change.ts), which fixes the lock order; `bumpEpoch` is kept for tests
// that need a bare bump.
//
// Every batch of events is inserted after taking one advisory transaction lock, so events are numbered in
// commit order: a reader paging by `seq` can never skip an event whose transaction commits late (on
// Postgres a sequence value is taken at insert, not at commit). NOTIFY is transactional, so listeners hear
// of an event only once it is committed.
import { EventEmitter } from 'node:events'
import { sql } from './kysely.js'
import type { Db } from './database.js'
import { scopedChannel } from './listener.js'

export const EPOCH_CHANNEL = 'tally_epochs'

/** Emits 'bump' (reason) for metrics, once per bumped identity, after its transaction commits. */
export const epochBumps = new EventEmitter()
const FEED_ORDER_LOCK = 0x7a11_0003

export type FeedEventRecord =
  | { type: 'epoch', identityId: string, epoch: number, reason: string }
  | { type: 'revoked', identityId: string, jti: string, exp: Date }
  | { type: 'key', kid: string }

/**
 * Raises each identity's epoch by one. Writes: identities.epoch (a row lock the caller should already hold,
 * taken in id order by `lockIdentities`). Returns id → new epoch. Must run in the caller's transaction; the
 * tokens minted before become stale when it commits.
 */
export async function raiseEpochs (trx: Db, identityIds: string[]): Promise<Map<string, number>> {
  if (identityIds.length === 0) return new Map()
  const rows = await trx.updateTable('identities')
    .set({ epoch: sql`epoch + 1`, updated_at: sql`now()` })
    .where('id', 'in', identityIds)
    .returning(['id', 'epoch'])
    .execute()
  return new Map(rows.map((r) => [r.id, r.epoch]))
}

/**
 * Appends events to the feed in the given order. Locks: the feed-order advisory lock, held until the
 * caller's transaction ends — so take it LAST, after every row lock the transaction needs.
 */
export async function appendFeedEvents (trx: Db, events: FeedEventRecord[]): Promise<void> {
  if (events.length === 0) return
  await sql`select pg_advisory_xact_lock(${FEED_ORDER_LOCK})`.execute(trx)
  for (const event of events) {
    const { seq } = await trx.insertInto('epoch_events').values({
      type: event.type,
      identity_id: event.type === 'key' ? null : event.identityId,
      kid: event.type === 'key' ? event.kid : null,
      epoch: event.type === 'epoch' ? event.epoch : null,
      jti: event.type === 'revoked' ? event.jti : null,
      exp: event.type === 'revoked' ? event.exp : null,
      reason: event.type === 'epoch' ? event.reason : null
    }).returning('seq').executeTakeFirstOrThrow()
    await sql`select pg_notify(${scopedChannel(EPOCH_CHANNEL)}, ${String(seq)})`.execute(trx)
  }
}

/** A bare bump with its feed event, in the caller's transaction (tests only; see commitChange). */
export async function bumpEpoch (trx: Db, identityId: string, reason: string): Promise<number> {
  const epoch = (await raiseEpochs(trx, [identityId])).get(identityId) as number
  await appendFeedEvents(trx, [{ type: 'epoch', identityId, epoch, reason }])
  return epoch
}

/** Records a signing key's emergency removal in the feed, in the transaction that removes it (docs/reference/epoch-feed.md). */
export async function appendKeyRemovedEvent (trx: Db, kid: string): Promise<void> {
  await appendFeedEvents(trx, [{ type: 'key', kid }])
}
