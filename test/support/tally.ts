// Fixtures for the introspection, revocation and private_key_jwt tests: identities, resources and
// entitlements made through the admin API, form calls to /introspect and /revoke, and "genuine" tokens
// signed with Tally's own key and recorded as sessions, to reach checks a forged token never gets to.
import { randomBytes, randomUUID, sign as cryptoSign } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { SignJWT, type CryptoKey, type KeyObject } from 'jose'
import { adminCall, basic, form, FORM_TYPE, KEK, requestToken, uniqueId } from '../helper.js'
import { currentSigningKey, loadSigningKeys } from '../../server/keys/keystore.js'
import { tokenDigest } from '../../server/keys/crypto.js'

const b64 = (v: object): string => Buffer.from(JSON.stringify(v)).toString('base64url')

export interface Svc { id: string, clientId: string, secret: string, secretId: string }

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

function expectStatus (res: LightMyRequestResponse, status: number, what: string): void {
  if (res.statusCode !== status) throw new Error(`${what}: ${res.statusCode} ${res.body}`)
}

/** A resource with a random identifier; `introspectors` are client_ids. Returns its identifier and id. */
export async function createResource (app: FastifyInstance, admin: string, scopes: string[], introspectors: string[] = [], extra: Record<string, unknown> = {}): Promise<{ id: string, identifier: string }> {
  const identifier = `https://api.example.test/${uniqueId('res')}`
  const res = await adminCall(app, admin, 'POST', '/admin/resources', { identifier, scopes, introspectors, ...extra })
  expectStatus(res, 201, 'create resource')
  return { id: res.json().id, identifier }
}

/** An identity with one client secret. */
export async function createIdentity (app: FastifyInstance, admin: string, body: Record<string, unknown> = {}): Promise<Svc> {
  const res = await adminCall(app, admin, 'POST', '/admin/identities', { client_id: uniqueId(), kind: 'service_account', ...body })
  expectStatus(res, 201, 'create identity')
  const { id, client_id: clientId } = res.json()
  const sec = await adminCall(app, admin, 'POST', `/admin/identities/${id}/secrets`, {})
  expectStatus(sec, 201, 'create secret')
  return { id, clientId, secret: sec.json().client_secret, secretId: sec.json().id }
}

/** An identity with no credential at all (for private_key_jwt). */
export async function createBareIdentity (app: FastifyInstance, admin: string): Promise<{ id: string, clientId: string }> {
  const res = await adminCall(app, admin, 'POST', '/admin/identities', { client_id: uniqueId('pkj'), kind: 'workload' })
  expectStatus(res, 201, 'create identity')
  return { id: res.json().id, clientId: res.json().client_id }
}

export async function grant (app: FastifyInstance, admin: string, identityId: string, resource: string, scopes: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const res = await adminCall(app, admin, 'POST', `/admin/identities/${identityId}/entitlements`, { resource, scopes, ...extra })
  expectStatus(res, 201, 'grant')
  return res.json().id
}

export async function tokenFor (app: FastifyInstance, svc: { clientId: string, secret: string }, params: Record<string, string> = {}): Promise<string> {
  const res = await requestToken(app, svc.clientId, svc.secret, params)
  expectStatus(res, 200, 'token')
  return res.json().access_token
}

/**
 * A random source address: the server throttles failed client authentication per address (50 a
 * minute), and these tests fail on purpose far more often than that from app.inject's one address.
 */
export function someAddress (): string {
  const b = randomBytes(3)
  return `10.${b[0] as number}.${b[1] as number}.${b[2] as number}`
}

export async function postForm (app: FastifyInstance, url: string, caller: { clientId: string, secret: string } | undefined, params: Record<string, string>): Promise<LightMyRequestResponse> {
  return await app.inject({
    method: 'POST',
    url,
    remoteAddress: someAddress(),
    headers: { 'content-type': FORM_TYPE, ...(caller !== undefined && { authorization: basic(caller.clientId, caller.secret) }) },
    payload: form(params)
  })
}

export const introspectAs = async (app: FastifyInstance, caller: { clientId: string, secret: string } | undefined, token: string, extra: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
  await postForm(app, '/introspect', caller, { token, ...extra })

export const revokeAs = async (app: FastifyInstance, caller: { clientId: string, secret: string } | undefined, params: Record<string, string>): Promise<LightMyRequestResponse> =>
  await postForm(app, '/revoke', caller, params)

/**
 * Signs `claims` with Tally's current signing key (header overrides may replace typ, alg and kid, or
 * remove them with undefined) and records a matching session row with the token's digest: a token that is "genuine"
 * as far as the session lookup goes, so the claim and header checks are what must reject it.
 */
export async function mintRecorded (app: FastifyInstance, opts: {
  identityId: string
  resource: string
  claims: Record<string, unknown>
  header?: Record<string, unknown>
  sessionEpoch: number
  exp: number
  iat?: number
}): Promise<string> {
  const keys = await loadSigningKeys(app.tally.db, Buffer.from(KEK, 'base64'))
  const key = currentSigningKey(keys)
  if (key === undefined) throw new Error('no signing key')
  const header = { typ: 'at+jwt', alg: key.alg, kid: key.kid, ...opts.header }
  for (const k of Object.keys(header)) if ((header as Record<string, unknown>)[k] === undefined) delete (header as Record<string, unknown>)[k]
  const input = `${b64(header)}.${b64(opts.claims)}`
  // RFC 7518 §3.4: an ES256 signature is R ‖ S.
  const sig = cryptoSign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
  const token = `${input}.${sig.toString('base64url')}`
  const resource = await app.tally.db.selectFrom('resources').select('id').where('identifier', '=', opts.resource).executeTakeFirstOrThrow()
  const jti = typeof opts.claims.jti === 'string' ? opts.claims.jti : randomUUID()
  await app.tally.db.insertInto('sessions').values({
    jti,
    identity_id: opts.identityId,
    epoch: opts.sessionEpoch,
    resource_id: resource.id,
    scope: typeof opts.claims.scope === 'string' ? opts.claims.scope : '',
    iat: new Date((opts.iat ?? Math.floor(Date.now() / 1000)) * 1000),
    exp: new Date(opts.exp * 1000),
    credential_id: null,
    token_hash: tokenDigest(token),
    kid: key.kid
  }).execute()
  return token
}

/** A client assertion (RFC 7523 §3) for private_key_jwt, with sensible defaults that `claims` can override or remove (undefined). */
export async function assertion (key: CryptoKey | KeyObject | Uint8Array, alg: string, clientId: string, aud: string, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const payload: Record<string, unknown> = { iss: clientId, sub: clientId, aud, jti: randomUUID(), iat: now, exp: now + 60, ...claims }
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k]
  return await new SignJWT(payload).setProtectedHeader({ alg, ...header }).sign(key)
}

export function assertionParams (clientAssertion: string, extra: Record<string, string> = {}): Record<string, string> {
  return { client_assertion_type: JWT_BEARER, client_assertion: clientAssertion, ...extra }
}

export function unsignedJwt (header: Record<string, unknown>, payload: Record<string, unknown>): string {
  return `${b64(header)}.${b64(payload)}.`
}
