// Trusts and federated credentials (docs/reference/federation.md). Trusts live in the database, never only in memory: several
// instances share one Postgres, and removing a trust must stop every instance at once.
import { sql } from './kysely.js'
import type { Db, TrustRow } from './database.js'
import { isDatabaseUnavailable } from '../db-errors.js'
import { isUuid } from './identities.js'

export interface TrustChange {
  jwks_uri?: string | null
  audience?: string
  claims?: Record<string, string>
  max_assertion_lifetime_s?: number
  name?: string | null
}

/** A live trust by UUID or by its exact issuer. */
export async function findTrust (db: Db, idOrIssuer: string, options: { forUpdate?: boolean } = {}): Promise<TrustRow | undefined> {
  let query = db.selectFrom('trusts').selectAll().where('deleted_at', 'is', null)
  query = isUuid(idOrIssuer) ? query.where('id', '=', idOrIssuer.toLowerCase()) : query.where('issuer', '=', idOrIssuer)
  if (options.forUpdate === true) query = query.forUpdate()
  return await query.executeTakeFirst()
}

export async function insertTrust (db: Db, trust: { issuer: string, jwks_uri: string | null, audience: string, claims: Record<string, string>, max_assertion_lifetime_s: number, name: string | null }): Promise<TrustRow> {
  return await db.insertInto('trusts').values({ ...trust, claims: JSON.stringify(trust.claims) }).returningAll().executeTakeFirstOrThrow()
}

export async function listTrusts (db: Db, limit: number, after: string | undefined): Promise<TrustRow[]> {
  let query = db.selectFrom('trusts').selectAll().where('deleted_at', 'is', null).orderBy('id').limit(limit)
  if (after !== undefined) query = query.where('id', '>', after)
  return await query.execute()
}

export async function updateTrust (db: Db, id: string, change: TrustChange): Promise<TrustRow> {
  return await db.updateTable('trusts').set({
    ...(change.jwks_uri !== undefined && { jwks_uri: change.jwks_uri }),
    ...(change.audience !== undefined && { audience: change.audience }),
    ...(change.claims !== undefined && { claims: JSON.stringify(change.claims) }),
    ...(change.max_assertion_lifetime_s !== undefined && { max_assertion_lifetime_s: change.max_assertion_lifetime_s }),
    ...(change.name !== undefined && { name: change.name }),
    updated_at: sql`now()`
  }).where('id', '=', id).returningAll().executeTakeFirstOrThrow()
}

/** Marks the trust removed and revokes every federated credential that names it. */
export async function removeTrust (db: Db, id: string): Promise<void> {
  await db.updateTable('trusts').set({ deleted_at: sql`now()`, updated_at: sql`now()` }).where('id', '=', id).execute()
  await db.updateTable('credentials').set({ revoked_at: sql`now()` })
    .where('trust_id', '=', id).where('revoked_at', 'is', null).execute()
}

/**
 * The identities holding an unrevoked federated credential on the trust, locked in id order (the lock
 * order every narrowing change follows, so concurrent changes cannot deadlock).
 */
/** The live identities with an unrevoked federated credential on the trust, in id order. Reads, locks nothing (the caller locks them through its change). */
export async function identitiesFederatedOn (db: Db, trustId: string): Promise<string[]> {
  const rows = await db.selectFrom('identities').select('id')
    .where('id', 'in', db.selectFrom('credentials').select('identity_id')
      .where('trust_id', '=', trustId).where('type', '=', 'federated').where('revoked_at', 'is', null))
    .where('status', '<>', 'deleted')
    .orderBy('id').execute()
  return rows.map((r) => r.id)
}

export async function insertFederatedCredential (db: Db, credential: { identityId: string, trust: TrustRow, subject: string, match: Record<string, string> | null }) {
  return await db.insertInto('credentials').values({
    identity_id: credential.identityId,
    type: 'federated',
    trust_id: credential.trust.id,
    issuer: credential.trust.issuer,
    subject: credential.subject,
    match: credential.match === null ? undefined : JSON.stringify(credential.match)
  }).returning(['id', 'type', 'secret_prefix', 'jwk', 'issuer', 'subject', 'match', 'expires_at', 'revoked_at', 'created_at']).executeTakeFirstOrThrow()
}

export async function findFederatedCredential (db: Db, identityId: string, trustId: string, subject: string, match: Record<string, string> | null): Promise<string | undefined> {
  const row = await db.selectFrom('credentials').select('id')
    .where('identity_id', '=', identityId).where('trust_id', '=', trustId).where('subject', '=', subject)
    .where('type', '=', 'federated').where('revoked_at', 'is', null)
    .where(sql<boolean>`coalesce(match, '{}'::jsonb) = ${JSON.stringify(match ?? {})}::jsonb`)
    .executeTakeFirst()
  return row?.id
}

export interface FederatedCandidate {
  credentialId: string
  identityId: string
  clientId: string
  match: Record<string, string> | null
}

type TrustJson = Omit<TrustRow, 'created_at' | 'updated_at' | 'deleted_at'> & { updated_at: string }
export interface TrustLookup { trust: TrustRow | undefined, candidates: FederatedCandidate[] }

// One row per (issuer, subject), in request order: the live trust for the issuer, and the usable federated
// credentials of active identities for the exact subject. One statement shape whatever the batch size.
const LOOKUP = (issuers: string[], subjects: string[]) => sql<{ trust: TrustJson | null, candidates: FederatedCandidate[] }>`
  select
    (select row_to_json(t) from (select id, issuer, jwks_uri, audience, claims, max_assertion_lifetime_s, name, updated_at
      from trusts where issuer = k.issuer and deleted_at is null) t) as trust,
    coalesce((select json_agg(json_build_object('credentialId', c.id, 'identityId', i.id, 'clientId', i.client_id, 'match', c.match) order by c.created_at, c.id)
      from trusts t
      join credentials c on c.trust_id = t.id and c.type = 'federated' and c.revoked_at is null
        and (c.expires_at is null or c.expires_at > now())
      join identities i on i.id = c.identity_id and i.status = 'active'
      where t.issuer = k.issuer and t.deleted_at is null and c.subject = k.subject), '[]') as candidates
  from unnest(${issuers}::text[], ${subjects}::text[]) with ordinality as k(issuer, subject, n)
  order by k.n`

function toLookup (row: { trust: TrustJson | null, candidates: FederatedCandidate[] } | undefined): TrustLookup {
  if (row?.trust == null) return { trust: undefined, candidates: [] }
  const t = row.trust
  return { trust: { ...t, created_at: new Date(t.updated_at), updated_at: new Date(t.updated_at), deleted_at: null }, candidates: row.candidates }
}

interface Pending { issuer: string, subject: string, resolve: (lookup: TrustLookup) => void, reject: (err: unknown) => void }
const MAX_BATCH = 256

/**
 * What an assertion needs, in one round trip shared with the assertions of every request that arrives in
 * the same turn of the event loop (like ClientLoader): each lookup starts after its request arrived, so it
 * reads what a query of its own would — a trust removed by any instance is seen by the next assertion.
 */
export class TrustLoader {
  #queue: Pending[] = []
  #scheduled = false

  constructor (private readonly db: Db) {}

  async load (issuer: string, subject: string): Promise<TrustLookup> {
    return await new Promise<TrustLookup>((resolve, reject) => {
      this.#queue.push({ issuer, subject, resolve, reject })
      if (!this.#scheduled) {
        this.#scheduled = true
        setImmediate(() => { this.#flush() })
      }
    })
  }

  #flush (): void {
    this.#scheduled = false
    while (this.#queue.length > 0) this.#run(this.#queue.splice(0, MAX_BATCH))
  }

  // As in ClientLoader: a grouped statement that fails is retried member by member, so one request's
  // failure stays its own; a database that is down fails them all at once (503), without retries.
  #run (batch: Pending[]): void {
    LOOKUP(batch.map((p) => p.issuer), batch.map((p) => p.subject)).execute(this.db).then(({ rows }) => {
      batch.forEach((p, i) => { p.resolve(toLookup(rows[i])) })
    }, (err: unknown) => {
      if (batch.length === 1 || isDatabaseUnavailable(err)) for (const p of batch) p.reject(err)
      else for (const p of batch) this.#run([p])
    })
  }
}
