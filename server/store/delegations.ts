// Delegations (docs/reference/delegation.md) and the sessions of tokens exchanged under them (RFC 8693). Every statement that
// touches the delegations table or the chain columns of sessions lives here.
import { sql, type RawBuilder } from 'kysely'
import type { Db } from './database.js'

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

/** Everything the exchange decides from, in one round trip. */
export async function loadExchangeState (db: Db, subjectId: string, holderId: string, actorId: string, subjectJti: string): Promise<ExchangeState> {
  const chainIds = sql`coalesce((select ps.delegation_ids from sessions ps where ps.jti = ${subjectJti}), '{}'::uuid[])`
  const { rows } = await sql<ExchangeState>`select
    to_json(${chainIds}) as chain_ids,
    (select json_build_object('id', i.id, 'client_id', i.client_id, 'status', i.status, 'epoch', i.epoch, 'token_ttl_s', i.token_ttl_s)
      from identities i where i.id = ${subjectId}) as subject,
    coalesce((select json_agg(json_build_object('resource_id', r.id, 'resource', r.identifier, 'scopes', e.scopes,
        'conditions', e.conditions, 'expires_at', floor(extract(epoch from e.expires_at))::bigint) order by e.created_at, e.id)
      from entitlements e join resources r on r.id = e.resource_id
      where e.identity_id = ${subjectId} and (e.expires_at is null or e.expires_at > now())), '[]') as entitlements,
    coalesce((select json_agg(${LIVE_DELEGATION} order by d.created_at, d.id)
      from delegations d join resources r on r.id = d.resource_id
      where d.subject_id = ${holderId} and d.actor_id = ${actorId} and (d.expires_at is null or d.expires_at > now())), '[]') as offered,
    coalesce((select json_agg(${LIVE_DELEGATION})
      from delegations d join resources r on r.id = d.resource_id
      where d.id = any(${chainIds}) and (d.expires_at is null or d.expires_at > now())), '[]') as chain`.execute(db)
  const state = rows[0] as ExchangeState
  const seconds = (d: LiveDelegation): LiveDelegation => ({ ...d, expires_at: d.expires_at === null ? null : Number(d.expires_at) })
  return {
    ...state,
    entitlements: state.entitlements.map((e) => ({ ...e, expires_at: e.expires_at === null ? null : Number(e.expires_at) })),
    offered: state.offered.map(seconds),
    chain: state.chain.map(seconds)
  }
}

export interface DelegatedSession {
  jti: string
  identityId: string
  epoch: number
  resourceId: string
  scope: string
  iat: Date
  exp: Date
  credentialId: string | null
  tokenHash: Buffer
  kid: string
  parentJti: string
  actorIds: string[]
  actorEpochs: number[]
  delegationIds: string[]
}

/** Durable before the token leaves, like every session (a single insert: exchanges are not the hot path). */
export async function insertDelegatedSession (db: Db, s: DelegatedSession): Promise<void> {
  await sql`insert into sessions (jti, identity_id, epoch, resource_id, scope, iat, exp, credential_id, token_hash, kid,
      parent_jti, actor_ids, actor_epochs, delegation_ids)
    values (${s.jti}, ${s.identityId}, ${s.epoch}, ${s.resourceId}, ${s.scope}, ${s.iat.toISOString()}::timestamptz,
      ${s.exp.toISOString()}::timestamptz, ${s.credentialId}, ${'\\x' + s.tokenHash.toString('hex')}::text::bytea, ${s.kid}, ${s.parentJti}, ${s.actorIds}::uuid[], ${s.actorEpochs}::int[], ${s.delegationIds}::uuid[])`.execute(db)
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
