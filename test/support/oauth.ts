// Calling the OAuth endpoints (/token, /introspect, /revoke) as a client, and what their answers share:
// an access token for a client, form posts from a random source address, the exact invalid_client
// answer and no-store headers, client assertions for private_key_jwt (RFC 7523), and "genuine" tokens
// signed with Tally's own key and recorded as sessions, to reach checks a forged token never gets to.
import { randomBytes, randomUUID, sign as cryptoSign } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { SignJWT, type CryptoKey, type KeyObject } from 'jose'
import { basic, encodeSegment, form, FORM_TYPE, ISSUER, KEK, requestToken } from '../helper.js'
import { currentSigningKey, loadSigningKeys } from '../../server/keys/keystore.js'
import { tokenDigest } from '../../server/keys/crypto.js'
import { expectStatus } from './admin.js'

type Res = LightMyRequestResponse

/** RFC 7523 §2.2: the client_assertion_type of a JWT client assertion. */
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** A client_credentials access token for `who` (params: resource, scope, ...); throws unless 200. */
export async function tokenFor (app: FastifyInstance, who: { clientId: string, secret: string }, params: Record<string, string> = {}): Promise<string> {
  return expectStatus(await requestToken(app, who.clientId, who.secret, params), 200).access_token
}

/**
 * A random source address: the server throttles failed client authentication per address (50 a
 * minute), and these tests fail on purpose far more often than that from app.inject's one address.
 */
export function someAddress (): string {
  const b = randomBytes(3)
  return `10.${b[0] as number}.${b[1] as number}.${b[2] as number}`
}

/** Who calls: a client authenticating with HTTP Basic, an Authorization header as sent, or nobody. */
export type Caller = { clientId: string, secret: string } | string | undefined

/** POSTs `params` as a form to `url` from a random source address. */
export async function postForm (app: FastifyInstance, url: string, caller: Caller, params: Record<string, string>): Promise<Res> {
  const authorization = typeof caller === 'object' ? basic(caller.clientId, caller.secret) : caller
  return await app.inject({
    method: 'POST',
    url,
    remoteAddress: someAddress(),
    headers: { 'content-type': FORM_TYPE, ...(authorization !== undefined && { authorization }) },
    payload: form(params)
  })
}

export const introspectAs = async (app: FastifyInstance, caller: Caller, token: string, extra: Record<string, string> = {}): Promise<Res> =>
  await postForm(app, '/introspect', caller, { token, ...extra })

/** The JSON body of introspecting `token` as `caller`, whatever the status. */
export const introspection = async (app: FastifyInstance, caller: Caller, token: string): Promise<any> =>
  (await introspectAs(app, caller, token)).json()

export const revokeAs = async (app: FastifyInstance, caller: Caller, params: Record<string, string>): Promise<Res> =>
  await postForm(app, '/revoke', caller, params)

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
  const input = `${encodeSegment(header)}.${encodeSegment(opts.claims)}`
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

/** The form parameters that authenticate with `clientAssertion` (RFC 7523 §2.2). */
export function assertionParams (clientAssertion: string, extra: Record<string, string> = {}): Record<string, string> {
  return { client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: clientAssertion, ...extra }
}

/** A JWT with an empty signature: header and payload as given. */
export function unsignedJwt (header: Record<string, unknown>, payload: Record<string, unknown>): string {
  return `${encodeSegment(header)}.${encodeSegment(payload)}.`
}
