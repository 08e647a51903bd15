// Everything client authentication and the token grant need about one identity, read in ONE round trip
// (shared with concurrent requests): the identity, its usable credentials, its unexpired entitlements with
// their resources, and the resources it may introspect. The hot path of /token, /introspect and /revoke
// starts here.
import { sql, type RawBuilder } from './kysely.js'
import type { Db } from './database.js'
import { isDatabaseUnavailable } from '../db-errors.js'
import { isClientId, isPlausibleKid } from '../oauth/safe-text.js'
import { chainLiveOf } from './delegations.js'

export interface ClientCredential {
  id: string
  type: 'client_secret' | 'jwk' | 'federated'
  secretHash: Buffer | null
  jwk: Record<string, unknown> | null
}

export interface ClientEntitlement {
  id: string
  resourceId: string
  resource: string
  resourceMaxTtlS: number | null
  scopes: string[]
  conditions: Record<string, unknown> | null
  /** Seconds since the epoch, or null for no expiry. */
  expiresAtS: number | null
}

export interface Client {
  id: string
  clientId: string
  kind: string
  status: 'active' | 'disabled'
  epoch: number
  tokenTtlS: number | null
  credentials: ClientCredential[]
  entitlements: ClientEntitlement[]
  /** Identifiers of the resources this identity may introspect. */
  introspects: string[]
}

/** A row of LOAD_CLIENTS; for an unknown client_id every scalar is null and every list empty. */
interface ClientRowJson {
  id: string
  client_id: string
  kind: string
  status: 'active' | 'disabled'
  epoch: number
  token_ttl_s: number | null
  credentials: Array<{ id: string, type: 'client_secret' | 'jwk' | 'federated', hash: string | null, jwk: Record<string, unknown> | null }>
  entitlements: Array<{ id: string, resource_id: string, resource: string, max_ttl: number | null, scopes: string[], conditions: Record<string, unknown> | null, expires_at: number | null }>
  introspects: string[]
}

/** A token whose session state is read in the same statement as its presenter (introspection). */
export interface TokenRef { jti: string, kid: string }

/** What the store says about a token's session; see evaluateAccessToken. */
export interface SessionState {
  token_hash: string
  session_epoch: number
  revoked: boolean
  current_epoch: number
  status: string
  key_state: string | null
  /** False when an actor of a delegated token's chain is stale or inactive, or its parent is revoked. */
  chain_live?: boolean
}

/**
 * One SQL value (a JSON object, or null when no session has this jti): the session, its identity's current
 * epoch and status, and the signing key's state. `jti` and `kid` are bound values or SQL expressions.
 */
export function sessionStateOf (jti: unknown, kid: unknown): RawBuilder<SessionState | null> {
  return sql<SessionState | null>`(select json_build_object(
      'token_hash', encode(ss.token_hash, 'hex'), 'session_epoch', ss.epoch, 'revoked', ss.revoked_at is not null,
      'current_epoch', si.epoch, 'status', si.status, 'key_state', sk.state, 'chain_live', ${chainLiveOf('ss')})
    from sessions ss
    join identities si on si.id = ss.identity_id
    left join signing_keys sk on sk.kid = ${kid}
    where ss.jti = ${jti})`
}

export interface ClientLookup { client: Client | undefined, session: SessionState | null }

// Issue 9 finding 7 (docs/security.md): an unknown client_id costs the statement the same work as a known
// one. The left join always yields a row; for an unknown client_id `iid` is the decoy, the live identity
// whose client_id follows it (the first one after the last), found by a descent of the same index and one
// heap fetch, as a hit costs. The three subqueries read the decoy's rows — the scans, aggregates and JSON a
// client of that shape costs — and discard them in SQL: an aggregate inside CASE is still computed
// (PostgreSQL manual, "9.18.1. CASE"), so `case when i.id is not null then json_agg(...) end` does the work
// and returns null. Nothing of the decoy leaves the database: the row comes back with every member null
// and every list empty. `offset 0` keeps the subquery from being flattened, so `iid` is computed once.
const IDENTITY_OR_DECOY = sql`i.iid`

// One row per requested client_id, in request order. Expired and revoked credentials and expired
// entitlements are left out. One statement shape whatever the batch size, so it is prepared once.
const LOAD_CLIENTS = (clientIds: string[], jtis: Array<string | null>, kids: Array<string | null>): RawBuilder<{ client: ClientRowJson | null, session: SessionState | null }> => sql`
  select
    (select row_to_json(c) from (
      select i.id, i.client_id, i.kind, i.status, i.epoch, i.token_ttl_s,
        coalesce((select case when i.id is not null then json_agg(json_build_object('id', c.id, 'type', c.type, 'hash', encode(c.secret_hash, 'hex'), 'jwk', c.jwk)) end
          from credentials c
          where c.identity_id = ${IDENTITY_OR_DECOY} and c.revoked_at is null and (c.expires_at is null or c.expires_at > now())), '[]') as credentials,
        coalesce((select case when i.id is not null then json_agg(json_build_object('id', e.id, 'resource_id', r.id, 'resource', r.identifier,
            'max_ttl', r.max_token_ttl_s, 'scopes', e.scopes, 'conditions', e.conditions,
            'expires_at', floor(extract(epoch from e.expires_at))::bigint) order by e.created_at, e.id) end
          from entitlements e join resources r on r.id = e.resource_id
          where e.identity_id = ${IDENTITY_OR_DECOY} and (e.expires_at is null or e.expires_at > now())), '[]') as entitlements,
        coalesce((select case when i.id is not null then json_agg(r.identifier) end
          from resource_introspectors ri join resources r on r.id = ri.resource_id
          where ri.identity_id = ${IDENTITY_OR_DECOY}), '[]') as introspects
      from (select i.*, coalesce(i.id,
          (select d.id from identities d where d.client_id > k.client_id and d.status <> 'deleted' order by d.client_id limit 1),
          (select d.id from identities d where d.status <> 'deleted' order by d.client_id limit 1)) as iid
        from (values (1)) one left join identities i on i.client_id = k.client_id and i.status <> 'deleted' offset 0) i) c) as client,
    ${sessionStateOf(sql`k.jti::uuid`, sql`k.kid`)} as session
  from unnest(${clientIds}::text[], ${jtis}::text[], ${kids}::text[]) with ordinality as k(client_id, jti, kid, n)
  order by k.n`

// What a miss decodes in Node instead of a row: the shape of a typical client (a secret, a key, an
// entitlement), made of constants — no identity's data. Parsed and mapped like a row, then thrown away.
const DECOY_ROW = JSON.stringify({
  id: '00000000-0000-0000-0000-000000000000', client_id: 'decoy', kind: 'service_account', status: 'disabled', epoch: 1, token_ttl_s: null,
  credentials: [
    { id: '00000000-0000-0000-0000-000000000001', type: 'client_secret', hash: '0'.repeat(64), jwk: null },
    { id: '00000000-0000-0000-0000-000000000002', type: 'jwk', hash: null, jwk: { x: 'A'.repeat(43), y: 'A'.repeat(43), alg: 'ES256', crv: 'P-256', kid: 'decoy', kty: 'EC', use: 'sig' } }
  ],
  entitlements: [{ id: '00000000-0000-0000-0000-000000000003', resource_id: '00000000-0000-0000-0000-000000000004', resource: 'https://decoy.invalid/', max_ttl: null, scopes: ['read'], conditions: null, expires_at: null }],
  introspects: []
})

interface Pending { clientId: string, token: TokenRef | undefined, resolve: (lookup: ClientLookup) => void, reject: (err: unknown) => void }

const MAX_BATCH = 256
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const NO_CLIENT: ClientLookup = { client: undefined, session: null }

/**
 * Loads clients for authentication — and, for introspection, the presented token's session state — with
 * the lookups of every request that arrives in the same turn of the event loop grouped into one statement
 * (one round trip for all of them). Each lookup still starts after its request arrived, so what it reads
 * is as fresh as a query of its own: strict consistency is kept.
 *
 * One member can never fail the others: input no row could match (a client_id outside docs/reference/concepts.md, a jti that
 * is not a UUID, a kid with control characters — Postgres refuses NUL in text) never enters the statement,
 * and if a grouped statement fails anyway, each member is retried alone, so a failure stays with the
 * request that caused it. A database that is down fails them all at once (503), without retries.
 */
export class ClientLoader {
  #queue: Pending[] = []
  #scheduled = false

  constructor (private readonly db: Db) {}

  async load (clientId: string, token?: TokenRef): Promise<ClientLookup> {
    if (!isClientId(clientId)) return NO_CLIENT
    const ref = token !== undefined && UUID.test(token.jti) && isPlausibleKid(token.kid) ? token : undefined
    return await new Promise<ClientLookup>((resolve, reject) => {
      this.#queue.push({ clientId, token: ref, resolve, reject })
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

  #run (batch: Pending[]): void {
    LOAD_CLIENTS(batch.map((p) => p.clientId), batch.map((p) => p.token?.jti ?? null), batch.map((p) => p.token?.kid ?? null))
      .execute(this.db)
      .then(({ rows }) => {
        batch.forEach((p, i) => {
          const row = rows[i]
          // A miss (id null) decodes DECOY_ROW in place of a row, the work a hit's decoding costs, and drops it.
          const found = row?.client != null && row.client.id !== null
          const client = toClient(found ? row.client as ClientRowJson : JSON.parse(DECOY_ROW) as ClientRowJson)
          p.resolve({ client: found ? client : undefined, session: row?.session ?? null })
        })
      }, (err: unknown) => {
        if (batch.length === 1 || isDatabaseUnavailable(err)) for (const p of batch) p.reject(err)
        else for (const p of batch) this.#run([p])
      })
  }
}

function toClient (row: ClientRowJson): Client {
  return {
    id: row.id,
    clientId: row.client_id,
    kind: row.kind,
    status: row.status,
    epoch: row.epoch,
    tokenTtlS: row.token_ttl_s,
    credentials: row.credentials.map((c) => ({
      id: c.id, type: c.type, secretHash: c.hash === null ? null : Buffer.from(c.hash, 'hex'), jwk: c.jwk
    })),
    entitlements: row.entitlements.map((e) => ({
      id: e.id,
      resourceId: e.resource_id,
      resource: e.resource,
      resourceMaxTtlS: e.max_ttl,
      scopes: e.scopes,
      conditions: e.conditions,
      expiresAtS: e.expires_at === null ? null : Number(e.expires_at)
    })),
    introspects: row.introspects
  }
}

export const ADMIN_RESOURCE = 'urn:tally:admin'

/** Scopes this client holds on a resource, from its unexpired entitlements. */
export function heldScopes (client: Client, resource: string): Set<string> {
  const scopes = new Set<string>()
  for (const e of client.entitlements) if (e.resource === resource) for (const s of e.scopes) scopes.add(s)
  return scopes
}
