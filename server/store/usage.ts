// Usage for the access review (docs/reference/review.md): when each identity last got a token, and when each credential,
// entitlement and scope of an entitlement was last carried by one.
//
// Nothing is written on the /token hot path beyond the session row it writes anyway (which now names the
// entitlements its token carried). Maintenance rolls sessions up into the usage tables in jti order —
// jtis are UUIDv7, so the primary key is a time index — and reads take the newest of the rollup and the
// sessions above its watermark. Reads are therefore exact; the rollup only bounds how many live sessions
// a read looks at, and keeps usage after sessions are purged.
import { sql } from './kysely.js'
import type { Db } from './database.js'

const ROLLUP_BATCH = 5000
const MAX_ROLLUP_BATCHES = 20
/**
 * Sessions younger than this are not rolled up yet: a jti is taken before its row commits (group commit,
 * clock differences between instances), so a newer jti may commit first. Reads cover them anyway.
 */
const ROLLUP_LAG_MS = 60_000

/** The smallest UUIDv7 of millisecond `ms` (RFC 9562 §5.7): every jti minted at or after `ms` sorts above it. */
function uuidv7Floor (ms: number): string {
  const h = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-0000-0000-000000000000`
}

/**
 * Data-modifying CTEs that fold the sessions of a CTE named `src` (identity_id, credential_id,
 * entitlement_ids, scope, iat) into the usage tables; greatest() makes folding a session twice harmless.
 * A token carried scope s of entitlement e when it carried e and s (its entitlements list only the granted
 * scopes of each); scopes the entitlement no longer holds are not worth remembering.
 */
const UPSERTS = sql`
  u_identities as (
    insert into usage_identities (identity_id, last_token_at)
    select identity_id, max(iat) from src group by identity_id
    on conflict (identity_id) do update set last_token_at = greatest(usage_identities.last_token_at, excluded.last_token_at)),
  u_credentials as (
    insert into usage_credentials (credential_id, last_used_at)
    select credential_id, max(iat) from src where credential_id is not null group by credential_id
    on conflict (credential_id) do update set last_used_at = greatest(usage_credentials.last_used_at, excluded.last_used_at)),
  u_entitlements as (
    insert into usage_entitlements (entitlement_id, last_used_at)
    select eid, max(src.iat) from src cross join unnest(src.entitlement_ids) as eid group by eid
    on conflict (entitlement_id) do update set last_used_at = greatest(usage_entitlements.last_used_at, excluded.last_used_at)),
  u_scopes as (
    insert into usage_entitlement_scopes (entitlement_id, scope, last_used_at)
    select e.id, sc, max(src.iat) from src
      cross join unnest(src.entitlement_ids) as eid
      join entitlements e on e.id = eid
      cross join unnest(string_to_array(src.scope, ' ')) as sc
    where sc = any(e.scopes) group by e.id, sc
    on conflict (entitlement_id, scope) do update set last_used_at = greatest(usage_entitlement_scopes.last_used_at, excluded.last_used_at))`

/**
 * Deletes up to `batch` sessions past exp + retention and, in the same statement, folds them into the
 * usage tables — so a session the rollup has not reached yet (an old random jti) still counts.
 */
export async function purgeSessionsCountingUsage (db: Db, retentionS: number, batch: number): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    with src as (
      delete from sessions where jti in (
        select jti from sessions where exp < now() - make_interval(secs => ${retentionS}) limit ${batch} for update skip locked)
      returning identity_id, credential_id, entitlement_ids, scope, iat), ${UPSERTS}
    select count(*)::int as n from src`.execute(db)
  return rows[0]?.n ?? 0
}

/**
 * Folds sessions above the watermark (and older than the lag) into the usage tables, batch by batch, each
 * in one transaction that also moves the watermark. Another instance holding the watermark row means it
 * is rolling up right now: skip. Returns the number of sessions rolled up.
 */
export async function rollUpUsage (db: Db, now = Date.now()): Promise<number> {
  const upper = uuidv7Floor(now - ROLLUP_LAG_MS)
  let total = 0
  for (let i = 0; i < MAX_ROLLUP_BATCHES; i++) {
    const n = await db.transaction().execute(async (trx) => {
      const { rows: [mark] } = await sql<{ watermark: string }>`
        select watermark from usage_rollup where id = 1 for update skip locked`.execute(trx)
      if (mark === undefined) return 0
      const { rows: [range] } = await sql<{ hi: string | null, n: number }>`
        with b as (select jti from sessions where jti > ${mark.watermark}::uuid and jti < ${upper}::uuid order by jti limit ${ROLLUP_BATCH})
        select (select jti from b order by jti desc limit 1)::text as hi, (select count(*) from b)::int as n`.execute(trx)
      if (range === undefined || range.hi === null) return 0
      await sql`
        with src as (select identity_id, credential_id, entitlement_ids, scope, iat from sessions
          where jti > ${mark.watermark}::uuid and jti <= ${range.hi}::uuid), ${UPSERTS}
        select 1`.execute(trx)
      await sql`update usage_rollup set watermark = ${range.hi}::uuid where id = 1`.execute(trx)
      return range.n
    })
    total += n
    if (n < ROLLUP_BATCH) break
  }
  return total
}

/** Usage older than the retention, and usage of rows that no longer exist. Returns the rows deleted. */
export async function purgeUsage (db: Db, retentionDays: number): Promise<number> {
  const cutoff = sql`now() - make_interval(days => ${retentionDays})`
  let n = 0
  const count = (r: { numAffectedRows?: bigint }): number => Number(r.numAffectedRows ?? 0)
  n += count(await sql`delete from usage_identities where last_token_at < ${cutoff}`.execute(db))
  n += count(await sql`delete from usage_credentials where last_used_at < ${cutoff}`.execute(db))
  n += count(await sql`delete from usage_entitlements u where last_used_at < ${cutoff}
    or not exists (select 1 from entitlements e where e.id = u.entitlement_id)`.execute(db))
  n += count(await sql`delete from usage_entitlement_scopes u where last_used_at < ${cutoff}
    or not exists (select 1 from entitlements e where e.id = u.entitlement_id and u.scope = any(e.scopes))`.execute(db))
  return n
}

/** Sessions not rolled up yet: the few above the watermark (a primary-key range scan). */
const LIVE = sql`(select s.* from sessions s where s.jti > (select watermark from usage_rollup where id = 1))`

export interface EntitlementUsage { lastUsedAt: Date | null, scopes: Record<string, Date | null> }

/** Per identity: when it last got a token (null: never, or not within the retention). */
export async function lastTokenAt (db: Db, identityIds: string[]): Promise<Map<string, Date | null>> {
  const out = new Map<string, Date | null>(identityIds.map((id) => [id, null]))
  if (identityIds.length === 0) return out
  const { rows } = await sql<{ id: string, at: Date | null }>`
    select i.id, greatest(u.last_token_at, (select max(l.iat) from ${LIVE} l where l.identity_id = i.id)) as at
    from unnest(${identityIds}::uuid[]) as i(id) left join usage_identities u on u.identity_id = i.id`.execute(db)
  for (const r of rows) out.set(r.id, r.at === null ? null : new Date(r.at))
  return out
}

/** Per credential: its last successful authentication for a token. */
export async function credentialLastUsedAt (db: Db, credentialIds: string[]): Promise<Map<string, Date | null>> {
  const out = new Map<string, Date | null>(credentialIds.map((id) => [id, null]))
  if (credentialIds.length === 0) return out
  const { rows } = await sql<{ id: string, at: Date | null }>`
    select c.id, greatest(u.last_used_at, (select max(l.iat) from ${LIVE} l where l.credential_id = c.id)) as at
    from unnest(${credentialIds}::uuid[]) as c(id) left join usage_credentials u on u.credential_id = c.id`.execute(db)
  for (const r of rows) out.set(r.id, r.at === null ? null : new Date(r.at))
  return out
}

/** Per entitlement: when a token last carried it, and each of its current scopes. */
export async function entitlementUsage (db: Db, entitlementIds: string[]): Promise<Map<string, EntitlementUsage>> {
  const out = new Map<string, EntitlementUsage>()
  if (entitlementIds.length === 0) return out
  const { rows } = await sql<{ id: string, at: Date | null, scopes: Array<{ scope: string, at: string | null }> }>`
    with live as (
      select eid, sc, max(l.iat) as at from ${LIVE} l
        cross join unnest(l.entitlement_ids) as eid
        cross join unnest(string_to_array(l.scope, ' ')) as sc
      where eid = any(${entitlementIds}::uuid[]) group by eid, sc)
    select e.id,
      greatest(u.last_used_at, (select max(at) from live where live.eid = e.id)) as at,
      (select coalesce(json_agg(json_build_object('scope', sc, 'at',
          greatest(us.last_used_at, (select at from live where live.eid = e.id and live.sc = x.sc))) order by x.n), '[]')
        from unnest(e.scopes) with ordinality as x(sc, n)
        left join usage_entitlement_scopes us on us.entitlement_id = e.id and us.scope = x.sc) as scopes
    from entitlements e left join usage_entitlements u on u.entitlement_id = e.id
    where e.id = any(${entitlementIds}::uuid[])`.execute(db)
  for (const r of rows) {
    const scopes: Record<string, Date | null> = {}
    for (const s of r.scopes) scopes[s.scope] = s.at === null ? null : new Date(s.at)
    out.set(r.id, { lastUsedAt: r.at === null ? null : new Date(r.at), scopes })
  }
  return out
}

export type FindingKind = 'idle_identity' | 'unused_entitlement' | 'unused_scope' | 'unused_credential'
export const FINDING_KINDS: FindingKind[] = ['idle_identity', 'unused_entitlement', 'unused_scope', 'unused_credential']

export interface FindingRow {
  kind: FindingKind
  identity_id: string
  client_id: string
  item_id: string
  rank: number
  resource: string | null
  scopes: string[] | null
  type: string | null
  last_used_at: Date | null
  since: Date
}

/** Where a page of findings resumes: the sort key of the last finding of the previous page. */
export interface FindingCursor { clientId: string, rank: number, itemId: string }

export interface FindingQuery {
  days: number
  identityId?: string
  identityKind?: string
  kinds?: FindingKind[]
  after?: FindingCursor
  limit: number
}

/**
 * The review's findings over active identities and their live (unexpired, unrevoked) rights, ordered by
 * client_id, then kind, then the right's id. A right is a finding when nothing used it since the window
 * began — including one granted inside the window (`since` tells). An entitlement unused in the window is
 * one `unused_entitlement`; a used one lists its unused scopes in one `unused_scope`.
 */
export async function reviewFindings (db: Db, q: FindingQuery): Promise<FindingRow[]> {
  const kinds = q.kinds ?? FINDING_KINDS
  const after = q.after ?? null
  const { rows } = await sql<FindingRow>`
    with params as (select now() - make_interval(days => ${q.days}) as cutoff),
    ids as (
      select i.id, i.client_id, i.created_at from identities i
      where i.status = 'active'
        and (${q.identityId ?? null}::uuid is null or i.id = ${q.identityId ?? null}::uuid)
        and (${q.identityKind ?? null}::text is null or i.kind = ${q.identityKind ?? null}::text)),
    live as ${LIVE},
    live_scopes as (
      select eid, sc, max(l.iat) as at from live l
        cross join unnest(l.entitlement_ids) as eid
        cross join unnest(string_to_array(l.scope, ' ')) as sc
      group by eid, sc),
    ents as (
      select e.id, e.identity_id, e.scopes, e.created_at, r.identifier,
        greatest(u.last_used_at, (select max(at) from live_scopes ls where ls.eid = e.id)) as last_used_at
      from entitlements e join ids on ids.id = e.identity_id join resources r on r.id = e.resource_id
      left join usage_entitlements u on u.entitlement_id = e.id
      where e.expires_at is null or e.expires_at > now()),
    ent_scopes as (
      select e.id, x.sc, x.n,
        greatest(us.last_used_at, (select at from live_scopes ls where ls.eid = e.id and ls.sc = x.sc)) as last_used_at
      from ents e cross join unnest(e.scopes) with ordinality as x(sc, n)
      left join usage_entitlement_scopes us on us.entitlement_id = e.id and us.scope = x.sc),
    findings as (
      select 'idle_identity' as kind, 1 as rank, ids.id as identity_id, ids.client_id, ids.id as item_id,
        null::text as resource, null::text[] as scopes, null::text as type,
        greatest(u.last_token_at, (select max(l.iat) from live l where l.identity_id = ids.id)) as last_used_at,
        ids.created_at as since
      from ids left join usage_identities u on u.identity_id = ids.id
      union all
      select 'unused_entitlement', 2, e.identity_id, ids.client_id, e.id, e.identifier, null, null, e.last_used_at, e.created_at
      from ents e join ids on ids.id = e.identity_id
      union all
      select 'unused_scope', 3, e.identity_id, ids.client_id, e.id, e.identifier,
        (select array_agg(es.sc order by es.n) from ent_scopes es, params
          where es.id = e.id and (es.last_used_at is null or es.last_used_at < params.cutoff)),
        null,
        (select max(es.last_used_at) from ent_scopes es, params
          where es.id = e.id and (es.last_used_at is null or es.last_used_at < params.cutoff)),
        e.created_at
      from ents e join ids on ids.id = e.identity_id, params
      where e.last_used_at >= params.cutoff
      union all
      select 'unused_credential', 4, c.identity_id, ids.client_id, c.id, null, null, c.type,
        greatest(u.last_used_at, (select max(l.iat) from live l where l.credential_id = c.id)), c.created_at
      from credentials c join ids on ids.id = c.identity_id
      left join usage_credentials u on u.credential_id = c.id
      where c.revoked_at is null and (c.expires_at is null or c.expires_at > now()))
    select f.* from findings f, params
    where f.kind = any(${kinds}::text[])
      and (f.last_used_at is null or f.last_used_at < params.cutoff)
      and (f.kind <> 'unused_scope' or f.scopes is not null)
      and (${after?.clientId ?? null}::text is null
        or (f.client_id collate "C", f.rank, f.item_id) > (${after?.clientId ?? null}::text collate "C", ${after?.rank ?? 0}::int, ${after?.itemId ?? null}::uuid))
    order by f.client_id collate "C", f.rank, f.item_id
    limit ${q.limit}`.execute(db)
  return rows
}

/** An identity's entitlement usage keyed by what survives a replacement: resource and conditions. */
export interface UsageSnapshot { key: string, lastUsedAt: Date | null, scopes: Record<string, Date | null> }

const grantKey = (resourceId: string, conditions: unknown): string => `${resourceId} ${JSON.stringify(conditions ?? null)}`

/**
 * Before `PUT …/entitlements` deletes an identity's entitlements (the new set gets new ids): their usage,
 * so that restoreEntitlementUsage can give it to the new row for the same resource and conditions.
 */
export async function snapshotEntitlementUsage (trx: Db, identityId: string): Promise<UsageSnapshot[]> {
  const rows = await trx.selectFrom('entitlements').select(['id', 'resource_id', 'conditions']).where('identity_id', '=', identityId).execute()
  const usage = await entitlementUsage(trx, rows.map((r) => r.id))
  return rows.map((r) => ({ key: grantKey(r.resource_id, r.conditions), lastUsedAt: usage.get(r.id)?.lastUsedAt ?? null, scopes: usage.get(r.id)?.scopes ?? {} }))
}

export async function restoreEntitlementUsage (trx: Db, identityId: string, snapshot: UsageSnapshot[]): Promise<void> {
  const rows = await trx.selectFrom('entitlements').select(['id', 'resource_id', 'conditions', 'scopes']).where('identity_id', '=', identityId).execute()
  const ids: string[] = []; const ats: Date[] = []
  const sIds: string[] = []; const sScopes: string[] = []; const sAts: Date[] = []
  for (const r of rows) {
    const old = snapshot.filter((s) => s.key === grantKey(r.resource_id, r.conditions))
    const last = old.map((s) => s.lastUsedAt).filter((d): d is Date => d !== null).sort((a, b) => b.getTime() - a.getTime())[0]
    if (last !== undefined) { ids.push(r.id); ats.push(last) }
    for (const scope of r.scopes) {
      const at = old.map((s) => s.scopes[scope] ?? null).filter((d): d is Date => d !== null).sort((a, b) => b.getTime() - a.getTime())[0]
      if (at !== undefined) { sIds.push(r.id); sScopes.push(scope); sAts.push(at) }
    }
  }
  if (ids.length > 0) {
    await sql`insert into usage_entitlements (entitlement_id, last_used_at) select * from unnest(${ids}::uuid[], ${ats}::timestamptz[])
      on conflict (entitlement_id) do update set last_used_at = greatest(usage_entitlements.last_used_at, excluded.last_used_at)`.execute(trx)
  }
  if (sIds.length > 0) {
    await sql`insert into usage_entitlement_scopes (entitlement_id, scope, last_used_at) select * from unnest(${sIds}::uuid[], ${sScopes}::text[], ${sAts}::timestamptz[])
      on conflict (entitlement_id, scope) do update set last_used_at = greatest(usage_entitlement_scopes.last_used_at, excluded.last_used_at)`.execute(trx)
  }
}
