// Delegations (docs/reference/delegation.md) and the sessions of tokens exchanged under them (RFC 8693). Every statement that
// touches the delegations table or the chain columns of sessions lives here.
import { sql, type RawBuilder } from './kysely.js'
import type { Db } from './database.js'
import { isDatabaseUnavailable } from '../db-errors.js'

export interface DelegationRow {
  id: string
  subject_id: string
  subject_client_id: string
  actor_id: string
  actor_client_id: string
  resource_id: string
  resource: string
  scopes: string[]
  expires_at: Date | null
  reason: string | null
  granted_by: string | null
  created_at: Date
  updated_at: Date
}

const SELECT_DELEGATION = sql`
  select d.id, d.subject_id, si.client_id as subject_client_id, d.actor_id, ai.client_id as actor_client_id,
    d.resource_id, r.identifier as resource, d.scopes, d.expires_at, d.reason, d.granted_by, d.created_at, d.updated_at
  from delegations d
  join identities si on si.id = d.subject_id
  join identities ai on ai.id = d.actor_id
  join resources r on r.id = d.resource_id`

export interface NewDelegation { subjectId: string, actorId: string, resourceId: string, scopes: string[], expiresAt: Date | null, reason: string | null, grantedBy: string }

export async function insertDelegation (trx: Db, d: NewDelegation): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    insert into delegations (subject_id, actor_id, resource_id, scopes, expires_at, reason, granted_by)
    values (${d.subjectId}, ${d.actorId}, ${d.resourceId}, ${d.scopes}::text[], ${d.expiresAt?.toISOString() ?? null}::timestamptz, ${d.reason}, ${d.grantedBy})
    returning id`.execute(trx)
  return (rows[0] as { id: string }).id
}

/** One delegation given by `subjectId`; `forUpdate` locks it for a change. */
export async function findDelegation (db: Db, subjectId: string, id: string, options: { forUpdate?: boolean } = {}): Promise<DelegationRow | undefined> {
  const { rows } = await sql<DelegationRow>`${SELECT_DELEGATION} where d.id = ${id} and d.subject_id = ${subjectId}
    ${options.forUpdate === true ? sql`for update of d` : sql``}`.execute(db)
  return rows[0]
}

/** Delegations given by (`as: 'subject'`) or received by (`as: 'actor'`) an identity, keyset-paged by id. */
export async function listDelegations (db: Db, identityId: string, as: 'subject' | 'actor', limit: number, after: string | undefined): Promise<DelegationRow[]> {
  const column = as === 'actor' ? sql`d.actor_id` : sql`d.subject_id`
  const { rows } = await sql<DelegationRow>`${SELECT_DELEGATION}
    where ${column} = ${identityId} ${after !== undefined ? sql`and d.id > ${after}` : sql``}
    order by d.id limit ${limit}`.execute(db)
  return rows
}

export interface DelegationChange { scopes?: string[], expiresAt?: Date | null, reason?: string | null }

export async function updateDelegation (trx: Db, id: string, change: DelegationChange): Promise<void> {
  await sql`update delegations set
      scopes = ${change.scopes !== undefined ? sql`${change.scopes}::text[]` : sql`scopes`},
      expires_at = ${change.expiresAt !== undefined ? sql`${change.expiresAt?.toISOString() ?? null}::timestamptz` : sql`expires_at`},
      reason = ${change.reason !== undefined ? sql`${change.reason}::text` : sql`reason`},
      updated_at = now()
    where id = ${id}`.execute(trx)
}

export async function deleteDelegation (trx: Db, id: string): Promise<void> {
  await sql`delete from delegations where id = ${id}`.execute(trx)
}

// ---- The exchange -------------------------------------------------------------------------------------

export interface LiveDelegation {
  id: string
  subject_id: string
  actor_id: string
  resource_id: string
  resource: string
  max_ttl: number | null
  scopes: string[]
  /** Seconds since the epoch, or null. */
  expires_at: number | null
}

export interface ExchangeState {
  subject: { id: string, client_id: string, status: string, epoch: number, token_ttl_s: number | null } | null
  /** The subject's unexpired entitlements (every resource; the grant picks). */
  entitlements: Array<{ resource_id: string, resource: string, scopes: string[], conditions: Record<string, unknown> | null, expires_at: number | null }>
  /** Unexpired delegations from the holder to the actor. */
  offered: LiveDelegation[]
  /** The chain's earlier delegations, as recorded on the subject token's session. */
  chain_ids: string[]
  /** Which of them still exist unexpired. */
  chain: LiveDelegation[]
}

const LIVE_DELEGATION = sql`json_build_object('id', d.id, 'subject_id', d.subject_id, 'actor_id', d.actor_id,
  'resource_id', d.resource_id, 'resource', r.identifier, 'max_ttl', r.max_token_ttl_s, 'scopes', d.scopes,
  'expires_at', floor(extract(epoch from d.expires_at))::bigint)`

// One row per exchange, in request order: everything the exchange decides from. One statement shape whatever
// the batch size (arrays through unnest), so it is prepared once per connection.
const LOAD_EXCHANGE_STATES = (subjects: string[], holders: string[], actors: string[], jtis: string[]): RawBuilder<ExchangeState> => sql`
  select to_json(c.chain_ids) as chain_ids,
    (select json_build_object('id', i.id, 'client_id', i.client_id, 'status', i.status, 'epoch', i.epoch, 'token_ttl_s', i.token_ttl_s)
      from identities i where i.id = x.subject_id) as subject,
    coalesce((select json_agg(json_build_object('resource_id', r.id, 'resource', r.identifier, 'scopes', e.scopes,
        'conditions', e.conditions, 'expires_at', floor(extract(epoch from e.expires_at))::bigint) order by e.created_at, e.id)
      from entitlements e join resources r on r.id = e.resource_id
      where e.identity_id = x.subject_id and (e.expires_at is null or e.expires_at > now())), '[]') as entitlements,
    coalesce((select json_agg(${LIVE_DELEGATION} order by d.created_at, d.id)
      from delegations d join resources r on r.id = d.resource_id
      where d.subject_id = x.holder_id and d.actor_id = x.actor_id and (d.expires_at is null or d.expires_at > now())), '[]') as offered,
    coalesce((select json_agg(${LIVE_DELEGATION})
      from delegations d join resources r on r.id = d.resource_id
      where d.id = any(c.chain_ids) and (d.expires_at is null or d.expires_at > now())), '[]') as chain
  from unnest(${subjects}::uuid[], ${holders}::uuid[], ${actors}::uuid[], ${jtis}::uuid[]) with ordinality as x(subject_id, holder_id, actor_id, jti, n)
  cross join lateral (select coalesce((select ps.delegation_ids from sessions ps where ps.jti = x.jti), '{}'::uuid[]) as chain_ids) c
  order by x.n`

export interface ExchangeKey { subjectId: string, holderId: string, actorId: string, subjectJti: string }

function toExchangeState (state: ExchangeState): ExchangeState {
  const seconds = (d: LiveDelegation): LiveDelegation => ({ ...d, expires_at: d.expires_at === null ? null : Number(d.expires_at) })
  return {
    ...state,
    entitlements: state.entitlements.map((e) => ({ ...e, expires_at: e.expires_at === null ? null : Number(e.expires_at) })),
    offered: state.offered.map(seconds),
    chain: state.chain.map(seconds)
  }
}

/** Everything one exchange decides from, in one round trip (ExchangeStateLoader groups concurrent ones). */
export async function loadExchangeState (db: Db, subjectId: string, holderId: string, actorId: string, subjectJti: string): Promise<ExchangeState> {
  const { rows } = await LOAD_EXCHANGE_STATES([subjectId], [holderId], [actorId], [subjectJti]).execute(db)
  return toExchangeState(rows[0] as ExchangeState)
}

interface PendingExchange { key: ExchangeKey, resolve: (state: ExchangeState) => void, reject: (err: unknown) => void }

const MAX_EXCHANGE_BATCH = 256

/**
 * The exchange states of every exchange that reaches this point in the same turn of the event loop, read in
 * one statement (as ClientLoader does for client lookups). Each read starts after its request's subject
 * token was checked, so it is as fresh as a query of its own. Every key is a UUID the database returned
 * (the subject token's session matched its digest; the actor was loaded), so no member can fail the
 * statement for the others; if one fails anyway, each member is retried alone (a database that is down
 * fails them all at once).
 */
export class ExchangeStateLoader {
  #queue: PendingExchange[] = []
  #scheduled = false

  constructor (private readonly db: Db) {}

  async load (key: ExchangeKey): Promise<ExchangeState> {
    return await new Promise<ExchangeState>((resolve, reject) => {
      this.#queue.push({ key, resolve, reject })
      if (!this.#scheduled) {
        this.#scheduled = true
        setImmediate(() => { this.#flush() })
      }
    })
  }

  #flush (): void {
    this.#scheduled = false
    while (this.#queue.length > 0) this.#run(this.#queue.splice(0, MAX_EXCHANGE_BATCH))
  }

  #run (batch: PendingExchange[]): void {
    const keys = batch.map((p) => p.key)
    LOAD_EXCHANGE_STATES(keys.map((k) => k.subjectId), keys.map((k) => k.holderId), keys.map((k) => k.actorId), keys.map((k) => k.subjectJti))
      .execute(this.db)
      .then(({ rows }) => { batch.forEach((p, i) => { p.resolve(toExchangeState(rows[i] as ExchangeState)) }) },
        (err: unknown) => {
          if (batch.length === 1 || isDatabaseUnavailable(err)) for (const p of batch) p.reject(err)
          else for (const p of batch) this.#run([p])
        })
  }
}

/**
 * SQL boolean for the session aliased `ss`: every actor of its chain still has the epoch it had at minting
 * and is active, and the session it was exchanged from is not revoked. True for a plain token. Revocation
 * cascades down parent_jti (revokeDerivedSessions), so the direct parent stands for the whole chain above —
 * the check here covers a parent revoked while its child was being minted.
 */
export function chainLiveOf (alias: string): RawBuilder<boolean> {
  const ss = sql.raw(alias)
  return sql<boolean>`((${ss}.actor_ids is null or not exists (
      select 1 from unnest(${ss}.actor_ids, ${ss}.actor_epochs) as ca(id, epoch)
      left join identities cai on cai.id = ca.id
      where cai.id is null or cai.epoch <> ca.epoch or cai.status <> 'active'))
    and (${ss}.parent_jti is null or not exists (
      select 1 from sessions cps where cps.jti = ${ss}.parent_jti and cps.revoked_at is not null)))`
}

/**
 * Revokes, in the caller's transaction, every unexpired session exchanged from `jti` (at any depth), and
 * returns them so the change appends their `revoked` feed events (commitChange's revokeToken). Writes:
 * sessions.revoked_at (row locks on the derived sessions).
 */
export async function revokeDerivedSessions (trx: Db, jti: string): Promise<Array<{ jti: string, identityId: string, exp: Date }>> {
  const { rows } = await sql<{ jti: string, identity_id: string, exp: Date }>`
    with recursive derived(jti) as (
      select s.jti from sessions s where s.parent_jti = ${jti}
      union
      select s.jti from sessions s join derived d on s.parent_jti = d.jti)
    update sessions set revoked_at = now()
    where jti in (select jti from derived) and revoked_at is null and exp > now()
    returning jti, identity_id, exp`.execute(trx)
  return rows.map((r) => ({ jti: r.jti, identityId: r.identity_id, exp: r.exp }))
}
