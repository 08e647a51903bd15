// Fixtures for the /token, admin-API and storage tests: resources, identities, secrets and entitlements
// made through the admin API with random names, and the assertions every invalid_client answer shares.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { adminCall, ISSUER, uniqueId } from '../helper.js'

type Res = LightMyRequestResponse

/** The JSON body of an admin call that must have answered `status`; throws with the body otherwise. */
export function expectStatus (res: Res, status = 201): any {
  if (res.statusCode !== status) throw new Error(`expected ${status}, got ${res.statusCode} ${res.body}`)
  return res.body === '' ? undefined : res.json()
}

export interface ResourceSpec { scopes: string[], max_token_ttl_s?: number, introspectors?: string[] }

/** Creates a resource with a random https identifier; returns the identifier. */
export async function createResource (app: FastifyInstance, admin: string, spec: ResourceSpec = { scopes: ['read', 'write'] }): Promise<string> {
  const identifier = `https://${uniqueId('api')}.example.test`
  expectStatus(await adminCall(app, admin, 'POST', '/admin/resources', { identifier, ...spec }))
  return identifier
}

export interface EntitlementSpec { resource: string, scopes: string[], conditions?: Record<string, unknown>, expires_at?: string, reason?: string }

export interface TestClient { id: string, clientId: string, secret: string, secretId: string }

/** An identity with one client secret and the given entitlements. */
export async function createClient (app: FastifyInstance, admin: string, options: {
  clientId?: string
  kind?: string
  token_ttl_s?: number
  entitlements?: EntitlementSpec[]
} = {}): Promise<TestClient> {
  const clientId = options.clientId ?? uniqueId('svc')
  const identity = expectStatus(await adminCall(app, admin, 'POST', '/admin/identities', {
    client_id: clientId, kind: options.kind ?? 'service_account', ...(options.token_ttl_s !== undefined && { token_ttl_s: options.token_ttl_s })
  }))
  const secret = expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${identity.id as string}/secrets`, {}))
  for (const e of options.entitlements ?? []) {
    expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${identity.id as string}/entitlements`, e))
  }
  return { id: identity.id, clientId, secret: secret.client_secret, secretId: secret.id }
}

export const INVALID_CLIENT = { error: 'invalid_client', error_description: 'client authentication failed' }

/** no-store + no-cache, as on every /token and admin response. */
export function assertNoStore (t: Test, res: Res, msg = ''): void {
  t.equal(res.headers['cache-control'], 'no-store', `${msg} Cache-Control: no-store`.trim())
  t.equal(res.headers.pragma, 'no-cache', `${msg} Pragma: no-cache`.trim())
}

/** 401 invalid_client with the exact body and `WWW-Authenticate: Basic realm="<issuer>"`. */
export function assertInvalidClient (t: Test, res: Res, msg: string, issuer = ISSUER): void {
  t.equal(res.statusCode, 401, `${msg}: status`)
  t.strictSame(res.json(), INVALID_CLIENT, `${msg}: body`)
  t.equal(res.headers['www-authenticate'], `Basic realm="${issuer}"`, `${msg}: WWW-Authenticate`)
  assertNoStore(t, res, msg)
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
