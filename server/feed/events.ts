// Reads of the epoch feed (docs/reference/epoch-feed.md). Each function is ONE statement, so everything it returns comes from
// one MVCC snapshot: a snapshot's state and its cursor, or a page of events and the bounds of the table.
import { sql } from 'kysely'
import type { Db } from '../store/database.js'

import type { FeedEvent } from 'tally-verifier'

export type { FeedEvent }

/** An event with its position in the feed. */
export interface SequencedEvent { seq: number, event: FeedEvent }

export interface Snapshot {
  seq: number
  epochs: Record<string, number>
  revoked: Array<{ jti: string, sub: string, exp: number }>
  /** Signing keys removed in an emergency whose tokens may not have expired yet. */
  removedKeys: string[]
}

export interface EventPage {
  /** Lowest and highest seq the table holds (null when it is empty). */
  minSeq: number | null
  maxSeq: number | null
  events: SequencedEvent[]
}

interface EventRow {
  seq: string | number
  type: 'epoch' | 'revoked' | 'key'
  sub: string | null
  kid: string | null
  epoch: number | null
  jti: string | null
  exp_s: string | number | null
  reason: string | null
  at_ms: string | number
}

export const PAGE_SIZE = 1000

function toEvent (row: EventRow): SequencedEvent {
  const at = new Date(Number(row.at_ms)).toISOString()
  const event: FeedEvent = row.type === 'epoch'
    ? { type: 'epoch', sub: row.sub as string, epoch: Number(row.epoch), reason: row.reason, at }
    : row.type === 'revoked'
      ? { type: 'revoked', jti: row.jti as string, sub: row.sub as string, exp: Number(row.exp_s), at }
      : { type: 'key', kid: row.kid as string, state: 'removed', at }
  return { seq: Number(row.seq), event }
}

const EVENT_JSON = sql`json_build_object('seq', seq, 'type', type, 'sub', identity_id, 'kid', kid, 'epoch', epoch, 'jti', jti,
  'exp_s', floor(extract(epoch from exp))::bigint, 'reason', reason, 'at_ms', floor(extract(epoch from at) * 1000)::bigint)`

/**
 * The state a verifier starts from: identities whose epoch is above 1, revoked sessions not yet expired,
 * keys removed in an emergency less than `keyLifetimeS` ago (the longest a token they signed could
 * live, plus clock skew), and the cursor they are current at — read in one statement, hence one snapshot.
 */
export async function readSnapshot (db: Db, keyLifetimeS: number): Promise<Snapshot> {
  const { rows } = await sql<{ seq: string | number, epochs: Record<string, number>, revoked: Array<{ jti: string, sub: string, exp: string | number }>, removed_keys: string[] }>`
    select
      (select coalesce(max(seq), 0) from epoch_events) as seq,
      (select coalesce(json_object_agg(id, epoch), '{}') from identities where epoch > 1) as epochs,
      (select coalesce(json_agg(json_build_object('jti', jti, 'sub', identity_id, 'exp', floor(extract(epoch from exp))::bigint) order by exp), '[]')
         from sessions where revoked_at is not null and exp > now()) as revoked,
      (select coalesce(json_agg(kid order by retired_at), '[]') from signing_keys
         where state = 'removed' and retired_at > now() - make_interval(secs => ${keyLifetimeS})) as removed_keys`.execute(db)
  const row = rows[0] as (typeof rows)[number]
  return {
    seq: Number(row.seq),
    epochs: row.epochs,
    revoked: row.revoked.map((r) => ({ jti: r.jti, sub: r.sub, exp: Number(r.exp) })),
    removedKeys: row.removed_keys
  }
}

/** Events committed after `afterSeq`, in commit order, at most `limit`, with the table's bounds. */
export async function readEventsAfter (db: Db, afterSeq: number, limit = PAGE_SIZE): Promise<EventPage> {
  const { rows } = await sql<{ min_seq: string | number | null, max_seq: string | number | null, events: EventRow[] }>`
    select
      (select min(seq) from epoch_events) as min_seq,
      (select max(seq) from epoch_events) as max_seq,
      coalesce((select json_agg(e.row order by e.seq) from (
        select seq, ${EVENT_JSON} as row from epoch_events where seq > ${afterSeq} order by seq limit ${limit}
      ) e), '[]') as events`.execute(db)
  const row = rows[0] as (typeof rows)[number]
  return {
    minSeq: row.min_seq === null ? null : Number(row.min_seq),
    maxSeq: row.max_seq === null ? null : Number(row.max_seq),
    events: row.events.map(toEvent)
  }
}

/**
 * May the feed still answer "everything after `seq`"? Not when older events were purged (`seq` below
 * the oldest kept, less one), nor for a cursor beyond the newest event, which this database never issued.
 */
export function cursorIsKept (page: Pick<EventPage, 'minSeq' | 'maxSeq'>, seq: number): boolean {
  if (page.minSeq !== null && seq < page.minSeq - 1) return false
  return seq <= (page.maxSeq ?? 0)
}
