// Reads and purge of the epoch feed's table (docs/reference/epoch-feed.md; the write side is store/epochs.ts).
// Each read is ONE statement, so everything it returns comes from one MVCC snapshot. Contracts as in identities.ts.
import { sql } from './kysely.js'
import type { Db } from './database.js'

/** A feed event as the page query returns it (bigints may come back as strings). */
export interface EventRow {
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

interface SnapshotRow {
  seq: string | number
  epochs: Record<string, number>
  revoked: Array<{ jti: string, sub: string, exp: string | number }>
  removed_keys: string[]
}

interface EventPageRow {
  min_seq: string | number | null
  max_seq: string | number | null
  events: EventRow[]
}

const EVENT_JSON = sql`json_build_object('seq', seq, 'type', type, 'sub', identity_id, 'kid', kid, 'epoch', epoch, 'jti', jti,
  'exp_s', floor(extract(epoch from exp))::bigint, 'reason', reason, 'at_ms', floor(extract(epoch from at) * 1000)::bigint)`

/**
 * The feed's newest seq, identities with epoch > 1, revoked unexpired sessions and keys removed less than
 * `keyLifetimeS` ago. Reads epoch_events, identities, sessions, signing_keys in ONE statement (one snapshot:
 * the state is exactly the one at that seq); locks nothing.
 */
export async function selectSnapshot (db: Db, keyLifetimeS: number): Promise<SnapshotRow> {
  const { rows } = await sql<SnapshotRow>`
    select
      (select coalesce(max(seq), 0) from epoch_events) as seq,
      (select coalesce(json_object_agg(id, epoch), '{}') from identities where epoch > 1) as epochs,
      (select coalesce(json_agg(json_build_object('jti', jti, 'sub', identity_id, 'exp', floor(extract(epoch from exp))::bigint) order by exp), '[]')
         from sessions where revoked_at is not null and exp > now()) as revoked,
      (select coalesce(json_agg(kid order by retired_at), '[]') from signing_keys
         where state = 'removed' and retired_at > now() - make_interval(secs => ${keyLifetimeS})) as removed_keys`.execute(db)
  return rows[0] as SnapshotRow
}

/**
 * At most `limit` events with seq > `afterSeq` in seq (commit) order, with the table's min and max seq.
 * Reads epoch_events in ONE statement (page and bounds from one snapshot); locks nothing.
 */
export async function selectEventsAfter (db: Db, afterSeq: number, limit: number): Promise<EventPageRow> {
  const { rows } = await sql<EventPageRow>`
    select
      (select min(seq) from epoch_events) as min_seq,
      (select max(seq) from epoch_events) as max_seq,
      coalesce((select json_agg(e.row order by e.seq) from (
        select seq, ${EVENT_JSON} as row from epoch_events where seq > ${afterSeq} order by seq limit ${limit}
      ) e), '[]') as events`.execute(db)
  return rows[0] as EventPageRow
}

/**
 * Deletes at most `limit` of the oldest events older than `retentionS`, never the newest one (the cursor
 * never falls back). Locks the rows it deletes, skipping rows another purge holds (`skip locked`).
 * Returns how many it deleted.
 */
export async function purgeFeedEvents (db: Db, retentionS: number, limit: number): Promise<number> {
  return Number((await sql`
    delete from epoch_events where seq in (
      select seq from epoch_events where at < now() - make_interval(secs => ${retentionS})
        and seq < (select max(seq) from epoch_events)
      order by seq limit ${limit} for update skip locked)`.execute(db)).numAffectedRows ?? 0)
}
