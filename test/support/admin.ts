// Making things through the admin API, with random names so tests sharing a file's database never
// collide: resources, identities (with or without a client secret), entitlements; and reading back
// what the admin API changed (an identity's epoch and its epoch events) straight from the database.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { adminCall, uniqueId } from '../helper.js'

/** The JSON body of a call that must have answered `status`; throws with the body otherwise. */
export function expectStatus (res: LightMyRequestResponse, status = 201): any {
  if (res.statusCode !== status) throw new Error(`expected ${status}, got ${res.statusCode} ${res.body}`)
  return res.body === '' ? undefined : res.json()
}

/** The body of POST /admin/resources, less the identifier; `introspectors` are client_ids. */
export interface ResourceSpec { scopes: string[], max_token_ttl_s?: number, introspectors?: string[] }

export interface TestResource { id: string, identifier: string }

/** Creates a resource with a random https identifier. */
export async function createResource (app: FastifyInstance, admin: string, spec: ResourceSpec = { scopes: ['read', 'write'] }): Promise<TestResource> {
  const identifier = `https://${uniqueId('api')}.example.test`
  const created = expectStatus(await adminCall(app, admin, 'POST', '/admin/resources', { identifier, ...spec }))
  return { id: created.id, identifier }
}

export interface EntitlementSpec { resource: string, scopes: string[], conditions?: Record<string, unknown>, expires_at?: string, reason?: string }

/** An identity as the tests hold it: its id and client_id. */
export interface TestIdentity { id: string, clientId: string }
/** An identity with one client secret. */
export interface TestClient extends TestIdentity { secret: string, secretId: string }

export interface ClientOptions {
  /** Default: a random one starting with `prefix`. */
  clientId?: string
  /** Default 'svc'. */
  prefix?: string
  /** Default 'service_account'. */
  kind?: string
  token_ttl_s?: number
  entitlements?: EntitlementSpec[]
  /** false: no credential at all (for private_key_jwt or federation); default true, one client secret. */
  secret?: boolean
}

/** An identity with one client secret (or none, with `secret: false`) and the given entitlements. */
export async function createClient (app: FastifyInstance, admin: string, options: ClientOptions & { secret: false }): Promise<TestIdentity>
export async function createClient (app: FastifyInstance, admin: string, options?: ClientOptions & { secret?: true }): Promise<TestClient>
export async function createClient (app: FastifyInstance, admin: string, options: ClientOptions = {}): Promise<TestIdentity | TestClient> {
  const clientId = options.clientId ?? uniqueId(options.prefix ?? 'svc')
  const identity = expectStatus(await adminCall(app, admin, 'POST', '/admin/identities', {
    client_id: clientId, kind: options.kind ?? 'service_account', ...(options.token_ttl_s !== undefined && { token_ttl_s: options.token_ttl_s })
  }))
  const id = identity.id as string
  const secret = options.secret === false ? undefined : expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${id}/secrets`, {}))
  for (const e of options.entitlements ?? []) {
    expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${id}/entitlements`, e))
  }
  return secret === undefined ? { id, clientId } : { id, clientId, secret: secret.client_secret, secretId: secret.id }
}

/** Grants `scopes` on `resource` (its identifier) to the identity; returns the entitlement's id. */
export async function grant (app: FastifyInstance, admin: string, identityId: string, resource: string, scopes: string[], extra: Omit<Partial<EntitlementSpec>, 'resource' | 'scopes'> = {}): Promise<string> {
  return expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${identityId}/entitlements`, { resource, scopes, ...extra })).id
}

/** The identity's current epoch, straight from the database. */
export async function epochOf (app: FastifyInstance, identityId: string): Promise<number> {
  const row = await app.tally.db.selectFrom('identities').select('epoch').where('id', '=', identityId).executeTakeFirstOrThrow()
  return row.epoch
}

/** The epoch_events rows of one identity, oldest first. */
export async function epochEvents (app: FastifyInstance, identityId: string): Promise<Array<{ epoch: number | null, reason: string | null, type: string }>> {
  return await app.tally.db.selectFrom('epoch_events').select(['type', 'epoch', 'reason'])
    .where('identity_id', '=', identityId).where('type', '=', 'epoch').orderBy('seq').execute()
}

/** RFC 3339 timestamp `seconds` from now, at whole seconds. */
export const inSeconds = (seconds: number): string => new Date((Math.floor(Date.now() / 1000) + seconds) * 1000).toISOString()
