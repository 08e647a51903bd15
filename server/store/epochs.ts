// The epoch feed's write side. Every event is inserted after taking one advisory transaction lock, so
// events are numbered in commit order: a reader paging by `seq` can never skip an event whose transaction
// commits late (on Postgres a sequence value is taken at insert, not at commit). NOTIFY is transactional,
// so listeners hear of an event only once it is committed.
import { EventEmitter } from 'node:events'
import { sql } from 'kysely'
import type { Db } from './database.js'
import { scopedChannel } from './listener.js'

export const EPOCH_CHANNEL = 'tally_epochs'

/** Emits 'bump' (reason) for metrics. A bump whose transaction later rolls back is counted too. */
export const epochBumps = new EventEmitter()
const FEED_ORDER_LOCK = 0x7a11_0003

export type EpochReason = 'entitlement_narrowed' | 'identity_disabled' | 'identity_deleted' | 'credential_revoked'
  | 'sessions_revoked' | 'resource_scope_removed' | 'entitlements_replaced' | 'entitlement_deleted'
  | 'trust_changed' | 'trust_removed' | 'delegation_narrowed' | 'delegation_removed'

/** Must run inside a transaction (pass the trx); holds the feed-order lock until it commits. */
async function appendEvent (trx: Db, event: { type: 'epoch' | 'revoked', identityId: string, epoch?: number, jti?: string, exp?: Date, reason?: string }): Promise<void> {
  await sql`select pg_advisory_xact_lock(${FEED_ORDER_LOCK})`.execute(trx)
  const { seq } = await trx.insertInto('epoch_events').values({
    type: event.type,
    identity_id: event.identityId,
    epoch: event.epoch ?? null,
    jti: event.jti ?? null,
    exp: event.exp ?? null,
    reason: event.reason ?? null
  }).returning('seq').executeTakeFirstOrThrow()
  await sql`select pg_notify(${scopedChannel(EPOCH_CHANNEL)}, ${String(seq)})`.execute(trx)
}

/**
 * Raises an identity's epoch by one and records the event, in the caller's transaction: every token
 * minted before it becomes stale at the commit. Returns the new epoch.
 */
export async function bumpEpoch (trx: Db, identityId: string, reason: EpochReason): Promise<number> {
  const { epoch } = await trx.updateTable('identities')
    .set({ epoch: sql`epoch + 1`, updated_at: sql`now()` })
    .where('id', '=', identityId)
    .returning('epoch')
    .executeTakeFirstOrThrow()
  await appendEvent(trx, { type: 'epoch', identityId, epoch, reason })
  epochBumps.emit('bump', reason)
  return epoch
}

/** Records a single token's revocation in the feed, in the caller's transaction. */
export async function appendRevokedEvent (trx: Db, identityId: string, jti: string, exp: Date): Promise<void> {
  await appendEvent(trx, { type: 'revoked', identityId, jti, exp })
}
