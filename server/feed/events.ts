// Reads of the epoch feed (docs/reference/epoch-feed.md). Each function makes ONE statement (store/feed-events.ts), so everything
// it returns comes from one MVCC snapshot: a snapshot's state and its cursor, or a page of events and the bounds of the table.
import type { FeedEvent } from 'tally-verifier'
import type { Db } from '../store/database.js'
import { selectEventsAfter, selectSnapshot, type EventRow } from '../store/feed-events.js'

/** An event with its position in the feed. */
export interface SequencedEvent { seq: number, event: FeedEvent }

interface Snapshot {
  seq: number
  epochs: Record<string, number>
  revoked: Array<{ jti: string, sub: string, exp: number }>
  /** Signing keys removed in an emergency whose tokens may not have expired yet. */
  removedKeys: string[]
}

interface EventPage {
  /** Lowest and highest seq the table holds (null when it is empty). */
  minSeq: number | null
  maxSeq: number | null
  events: SequencedEvent[]
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

/**
 * The state a verifier starts from: identities whose epoch is above 1, revoked sessions not yet expired,
 * keys removed in an emergency less than `keyLifetimeS` ago (the longest a token they signed could
 * live, plus clock skew), and the cursor they are current at — read in one statement, hence one snapshot.
 */
export async function readSnapshot (db: Db, keyLifetimeS: number): Promise<Snapshot> {
  const row = await selectSnapshot(db, keyLifetimeS)
  return {
    seq: Number(row.seq),
    epochs: row.epochs,
    revoked: row.revoked.map((r) => ({ jti: r.jti, sub: r.sub, exp: Number(r.exp) })),
    removedKeys: row.removed_keys
  }
}

/** Events committed after `afterSeq`, in commit order, at most `limit`, with the table's bounds. */
export async function readEventsAfter (db: Db, afterSeq: number, limit = PAGE_SIZE): Promise<EventPage> {
  const row = await selectEventsAfter(db, afterSeq, limit)
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
