// Everything client authentication and the token grant need about one identity, read in ONE round trip:
// the identity, its usable credentials, its unexpired entitlements with their resources, and the resources
// it may introspect. The hot path of /token, /introspect and /revoke starts here.
import { sql, type RawBuilder } from 'kysely'
import type { Db } from './database.js'

export interface ClientCredential {
  id: string
  type: 'client_secret' | 'jwk'
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
  expiresAt: number | null
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

interface ClientRowJson {
  id: string
  client_id: string
  kind: string
  status: 'active' | 'disabled'
  epoch: number
  token_ttl_s: number | null
  credentials: Array<{ id: string, type: 'client_secret' | 'jwk', hash: string | null, jwk: Record<string, unknown> | null }>
  entitlements: Array<{ id: string, resource_id: string, resource: string, max_ttl: number | null, scopes: string[], conditions: Record<string, unknown> | null, expires_at: number | null }>
  introspects: string[]
}

/**
 * The live (not deleted) identity with this client_id, or undefined. Expired and revoked credentials are
 * left out. `alongside` is any one-value SQL expression to evaluate in the same round trip (introspection
 * reads the token's session this way); its value comes back as `extra`.
 */
export async function loadClientWith (db: Db, clientId: string, alongside?: RawBuilder<unknown>): Promise<{ client: Client | undefined, extra: unknown }> {
  const { rows } = await sql<{ client: ClientRowJson | null, extra: unknown }>`
    select (select row_to_json(c) from (
      select i.id, i.client_id, i.kind, i.status, i.epoch, i.token_ttl_s,
        coalesce((select json_agg(json_build_object('id', c.id, 'type', c.type, 'hash', encode(c.secret_hash, 'hex'), 'jwk', c.jwk))
          from credentials c
          where c.identity_id = i.id and c.revoked_at is null and (c.expires_at is null or c.expires_at > now())), '[]') as credentials,
        coalesce((select json_agg(json_build_object('id', e.id, 'resource_id', r.id, 'resource', r.identifier,
            'max_ttl', r.max_token_ttl_s, 'scopes', e.scopes, 'conditions', e.conditions,
            'expires_at', floor(extract(epoch from e.expires_at))::bigint) order by e.created_at, e.id)
          from entitlements e join resources r on r.id = e.resource_id
          where e.identity_id = i.id and (e.expires_at is null or e.expires_at > now())), '[]') as entitlements,
        coalesce((select json_agg(r.identifier)
          from resource_introspectors ri join resources r on r.id = ri.resource_id
          where ri.identity_id = i.id), '[]') as introspects
      from identities i
      where i.client_id = ${clientId} and i.status <> 'deleted') c) as client,
      ${alongside ?? sql`null`} as extra`.execute(db)
  const first = rows[0]
  const row = first?.client ?? undefined
  if (row === undefined) return { client: undefined, extra: first?.extra }
  return { client: toClient(row), extra: first?.extra }
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
      expiresAt: e.expires_at === null ? null : Number(e.expires_at)
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
