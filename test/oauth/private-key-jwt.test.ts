// private_key_jwt (RFC 7523 §3, docs/reference/endpoints.md) on /token, /introspect and /revoke: public JWKs registered
// through the admin API (EC P-256, Ed25519, RSA-2048), and every bad assertion — replayed, expired,
// too long-lived, wrong audience, symmetric or unsigned, unknown key — is 401 invalid_client.
import { createPublicKey, generateKeyPairSync, randomUUID, type JsonWebKey } from 'node:crypto'
import type { Test } from 'tap'
import t from '../support/tap.js'
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { AuthThrottle } from '../../server/oauth/throttle.js'
import { authenticateClient } from '../../server/oauth/client-auth.js'
import { ISSUER, adminCall, adminToken, basic, build, decodePayload, encodeSegment } from '../helper.js'
import { createClient, createResource, grant } from '../support/admin.js'
import { assertion, assertionParams, introspectAs, INVALID_CLIENT, postForm, unsignedJwt } from '../support/oauth.js'

const app: FastifyInstance = await build(t)
const admin = await adminToken(app)
const rs = await createClient(app, admin, { kind: 'resource_server' })
const TOKEN_ENDPOINT = `${ISSUER}/token`
const now = (): number => Math.floor(Date.now() / 1000)

interface KeyedClient { id: string, clientId: string, keys: Record<string, { privateKey: CryptoKey, publicJwk: JWK, alg: string, kid: string, credentialId: string }> }

const FAMILIES: Array<{ name: string, alg: string, gen: () => Promise<{ privateKey: CryptoKey, publicKey: CryptoKey }> }> = [
  { name: 'EC P-256', alg: 'ES256', gen: async () => await generateKeyPair('ES256') },
  { name: 'Ed25519', alg: 'EdDSA', gen: async () => await generateKeyPair('EdDSA', { crv: 'Ed25519' }) },
  { name: 'RSA-2048', alg: 'RS256', gen: async () => await generateKeyPair('RS256', { modulusLength: 2048 }) }
]

async function registerKey (identityId: string, publicKey: CryptoKey, kid: string, extra: Record<string, unknown> = {}): Promise<LightMyRequestResponse> {
  const jwk = await exportJWK(publicKey)
  return await adminCall(app, admin, 'POST', `/admin/identities/${identityId}/keys`, { jwk: { ...jwk, kid, ...extra } })
}

/** A workload with no secret, its keys registered, entitled on `resource` and introspector of it. */
async function keyedClient (resource?: { id: string, identifier: string }): Promise<KeyedClient & { resource: { id: string, identifier: string } }> {
  const identity = await createClient(app, admin, { kind: 'workload', prefix: 'pkj', secret: false })
  const res = resource ?? await createResource(app, admin, { scopes: ['read', 'write'], introspectors: [rs.clientId, identity.clientId] })
  if (resource !== undefined) {
    const patch = await adminCall(app, admin, 'PATCH', `/admin/resources/${res.id}`, { introspectors: [rs.clientId, identity.clientId] })
    if (patch.statusCode !== 200) throw new Error(patch.body)
  }
  await grant(app, admin, identity.id, res.identifier, ['read', 'write'])
  const keys: KeyedClient['keys'] = {}
  for (const f of FAMILIES) {
    const { privateKey, publicKey } = await f.gen()
    const kid = `${f.alg}-${randomUUID().slice(0, 8)}`
    const reg = await registerKey(identity.id, publicKey, kid)
    if (reg.statusCode !== 201) throw new Error(`register ${f.name}: ${reg.statusCode} ${reg.body}`)
    keys[f.name] = { privateKey, publicJwk: reg.json().jwk, alg: f.alg, kid, credentialId: reg.json().id }
  }
  return { ...identity, keys, resource: res }
}

const call = async (url: string, params: Record<string, string>, authorization?: string): Promise<LightMyRequestResponse> => await postForm(app, url, authorization, params)

const tokenWith = async (a: string, extra: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
  await call('/token', { grant_type: 'client_credentials', ...assertionParams(a), ...extra })

function assertInvalidClient (t: Test, res: LightMyRequestResponse, msg: string): void {
  t.equal(res.statusCode, 401, `${msg}: 401`)
  t.strictSame(res.json(), INVALID_CLIENT, `${msg}: invalid_client`)
  t.equal(res.headers['www-authenticate'], `Basic realm="${ISSUER}"`, `${msg}: WWW-Authenticate`)
  t.equal(res.headers['cache-control'], 'no-store', `${msg}: no-store`)
}

const main = await keyedClient()
const sign = async (family: string, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, aud = ISSUER, client: KeyedClient = main): Promise<string> => {
  const k = client.keys[family] as KeyedClient['keys'][string]
  return await assertion(k.privateKey, k.alg, client.clientId, aud, claims, { kid: k.kid, ...header })
}

t.test('discovery advertises private_key_jwt on all three endpoints', async (t) => {
  const meta = (await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json()
  for (const field of ['token_endpoint_auth_methods_supported', 'introspection_endpoint_auth_methods_supported', 'revocation_endpoint_auth_methods_supported']) {
    t.ok(meta[field].includes('private_key_jwt'), field)
  }
  t.notOk(meta.token_endpoint_auth_signing_alg_values_supported.some((a: string) => a === 'none' || a.startsWith('HS')), 'no none or HMAC advertised')
})

t.test('key registration: public EC, OKP and RSA ≥ 2048 only', async (t) => {
  const identity = await createClient(app, admin, { kind: 'workload', prefix: 'pkj', secret: false })
  const ec = await generateKeyPair('ES256', { extractable: true })
  const priv = await exportJWK(ec.privateKey)
  const withD = await adminCall(app, admin, 'POST', `/admin/identities/${identity.id}/keys`, { jwk: priv })
  t.equal(withD.statusCode, 400, 'a private JWK is refused')
  t.equal(withD.json().error, 'invalid_request')
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' })
  const smallRes = await adminCall(app, admin, 'POST', `/admin/identities/${identity.id}/keys`, { jwk: { ...small, kid: 'small' } })
  t.equal(smallRes.statusCode, 400, 'RSA-1024 is refused')
  // Leading zero octets make a 1024-bit modulus look like 2048 bits by its encoded length (issue 9 #13).
  const padded = Buffer.concat([Buffer.alloc(128), Buffer.from(small.n as string, 'base64url')]).toString('base64url')
  const paddedRes = await adminCall(app, admin, 'POST', `/admin/identities/${identity.id}/keys`, { jwk: { ...small, n: padded, kid: 'padded' } })
  t.equal(paddedRes.statusCode, 400, 'RSA-1024 padded with leading zero bytes is refused')
  t.strictSame(paddedRes.json(), { error: 'invalid_request', error_description: 'jwk: RSA keys must be at least 2048 bits' })
  const oct = await adminCall(app, admin, 'POST', `/admin/identities/${identity.id}/keys`, { jwk: { kty: 'oct', k: 'c2VjcmV0' } })
  t.equal(oct.statusCode, 400, 'a symmetric key is refused')
  const ok = await registerKey(identity.id, ec.publicKey, 'good')
  t.equal(ok.statusCode, 201)
  t.notOk('d' in ok.json().jwk, 'no private member echoed')
  t.equal((await registerKey(identity.id, ec.publicKey, 'good')).statusCode, 409, 'a duplicate kid conflicts')
})

t.test('each key type authenticates at /token, /introspect and /revoke', async (t) => {
  for (const f of FAMILIES) {
    await t.test(f.name, async (t) => {
      for (const aud of [ISSUER, TOKEN_ENDPOINT]) {
        const res = await tokenWith(await sign(f.name, {}, {}, aud), { resource: main.resource.identifier })
        t.equal(res.statusCode, 200, `/token with aud ${aud}: ${res.body}`)
        t.equal(res.json().token_type, 'Bearer')
        const token = res.json().access_token as string
        t.equal(decodePayload(token).client_id, main.clientId)

        const intro = await call('/introspect', { token, ...assertionParams(await sign(f.name, {}, {}, aud)) })
        t.equal(intro.statusCode, 200, `/introspect: ${intro.body}`)
        t.equal(intro.json().active, true, 'the caller introspects its resource\'s token')
        t.equal(intro.json().client_id, main.clientId)

        const rev = await call('/revoke', { token, ...assertionParams(await sign(f.name, {}, {}, aud)) })
        t.equal(rev.statusCode, 200, `/revoke: ${rev.body}`)
        t.strictSame(rev.json(), {}, '/revoke answers {}')
        t.match(rev.headers['content-type'], /^application\/json/, '/revoke answers JSON')
        t.strictSame((await introspectAs(app, rs, token)).json(), { active: false }, 'revoked')
      }
    })
  }
  await t.test('the credential used is recorded on the session', async (t) => {
    const res = await tokenWith(await sign('Ed25519'), { resource: main.resource.identifier })
    t.equal(res.statusCode, 200)
    const sessions = await adminCall(app, admin, 'GET', `/admin/identities/${main.id}/sessions`)
    const item = (sessions.json().items as Array<{ jti: string, credential_id: string }>).find((s) => s.jti === decodePayload(res.json().access_token).jti)
    t.equal(item?.credential_id, main.keys.Ed25519?.credentialId)
  })
  await t.test('client_id in the body, matching the assertion, is accepted', async (t) => {
    const res = await tokenWith(await sign('EC P-256'), { client_id: main.clientId, resource: main.resource.identifier })
    t.equal(res.statusCode, 200, res.body)
  })
  await t.test('an assertion without kid is tried against the registered keys', async (t) => {
    const res = await tokenWith(await sign('RSA-2048', {}, { kid: undefined }), { resource: main.resource.identifier })
    t.equal(res.statusCode, 200, res.body)
  })
  await t.test('aud as an array containing the issuer', async (t) => {
    const res = await tokenWith(await sign('EC P-256', { aud: ['https://someone.else', ISSUER] }), { resource: main.resource.identifier })
    t.equal(res.statusCode, 200, res.body)
  })
  await t.test('within the 30 s leeway: exp 10 s ago, nbf and iat 10 s ahead, exp exactly 5 min ahead', async (t) => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['exp 10 s ago', { iat: now() - 60, exp: now() - 10 }],
      ['nbf 10 s ahead', { nbf: now() + 10 }],
      ['iat 10 s ahead', { iat: now() + 10 }],
      ['exp 300 s ahead', { exp: now() + 300 }]
    ]
    for (const [name, claims] of cases) {
      const res = await tokenWith(await sign('EC P-256', claims), { resource: main.resource.identifier })
      t.equal(res.statusCode, 200, `${name}: ${res.body}`)
    }
  })
})

t.test('every bad assertion is 401 invalid_client', async (t) => {
  const stranger = await generateKeyPair('ES256')
  const strangerJwk = await exportJWK(stranger.publicKey)
  const otherClient = await keyedClient()
  const ecKid = main.keys['EC P-256']?.kid as string
  const hsSecret = Buffer.from(JSON.stringify(await exportJWK((await generateKeyPair('ES256')).publicKey)))
  const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> =>
    ({ iss: main.clientId, sub: main.clientId, aud: ISSUER, jti: randomUUID(), iat: now(), exp: now() + 60, ...extra })

  const cases: Array<[string, () => Promise<string>, Record<string, string>?]> = [
    ['expired (a minute ago)', async () => await sign('EC P-256', { iat: now() - 120, exp: now() - 60 })],
    ['exp more than 60 minutes (and the leeway) ahead', async () => await sign('EC P-256', { exp: now() + 3600 + 90 })],
    ['aud = the revocation endpoint, at /token', async () => await sign('EC P-256', {}, {}, `${ISSUER}/revoke`)],
    ['missing exp', async () => await sign('EC P-256', { exp: undefined })],
    ['exp not a number', async () => await sign('EC P-256', { exp: String(now() + 60) })],
    ['missing jti', async () => await sign('EC P-256', { jti: undefined })],
    ['empty jti', async () => await sign('EC P-256', { jti: '' })],
    ['nbf two minutes ahead', async () => await sign('EC P-256', { nbf: now() + 120 })],
    ['iat two minutes ahead', async () => await sign('EC P-256', { iat: now() + 120 })],
    ['wrong aud', async () => await sign('EC P-256', {}, {}, 'https://other.example')],
    ['aud = the introspection endpoint', async () => await sign('EC P-256', {}, {}, `${ISSUER}/introspect`)],
    ['aud = issuer with a trailing slash', async () => await sign('EC P-256', {}, {}, `${ISSUER}/`)],
    ['missing aud', async () => await sign('EC P-256', { aud: undefined })],
    ['iss ≠ sub', async () => await sign('EC P-256', { sub: otherClient.clientId })],
    ['iss and sub another client (signed with this client\'s key)', async () => await sign('EC P-256', { iss: otherClient.clientId, sub: otherClient.clientId })],
    ['another client\'s key, claiming this client', async () => await sign('EC P-256', { iss: main.clientId, sub: main.clientId }, { kid: otherClient.keys['EC P-256']?.kid }, ISSUER, otherClient)],
    ['body client_id ≠ iss', async () => await sign('EC P-256'), { client_id: otherClient.clientId }],
    ['HS256 keyed with a public JWK', async () => await assertion(hsSecret, 'HS256', main.clientId, ISSUER, {}, { kid: ecKid })],
    ['HS256 keyed with the registered public JWK (as stored)', async () =>
      await assertion(Buffer.from(JSON.stringify(main.keys['EC P-256']?.publicJwk)), 'HS256', main.clientId, ISSUER, {}, { kid: ecKid })],
    ['HS256 keyed with the registered public key (SPKI PEM)', async () => {
      const pem = createPublicKey({ key: main.keys['EC P-256']?.publicJwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' })
      return await assertion(Buffer.from(pem as string), 'HS256', main.clientId, ISSUER, {}, { kid: ecKid })
    }],
    ['alg none', async () => unsignedJwt({ alg: 'none', kid: ecKid }, claims())],
    ['alg none, no kid', async () => unsignedJwt({ alg: 'none' }, claims())],
    ['alg none, with a signature segment', async () => unsignedJwt({ alg: 'none', kid: ecKid }, claims()) + 'c2ln'],
    ['unknown kid (unregistered key)', async () => await assertion(stranger.privateKey, 'ES256', main.clientId, ISSUER, {}, { kid: 'no-such-kid' })],
    ['unregistered key, no kid', async () => await assertion(stranger.privateKey, 'ES256', main.clientId, ISSUER)],
    ['unregistered key under a registered kid', async () => await assertion(stranger.privateKey, 'ES256', main.clientId, ISSUER, {}, { kid: ecKid })],
    ['unregistered key embedded in the header (jwk)', async () => await assertion(stranger.privateKey, 'ES256', main.clientId, ISSUER, {}, { jwk: strangerJwk })],
    ['a registered key with an alg it was not registered for (ES384 header)', async () => unsignedJwt({ alg: 'ES384', kid: ecKid }, claims()) + 'c2ln'],
    ['bad signature', async () => {
      const good = await sign('EC P-256')
      const [h, p, s] = good.split('.') as [string, string, string]
      return `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`
    }],
    ['payload altered after signing', async () => {
      const good = await sign('Ed25519')
      const [h, , s] = good.split('.') as [string, string, string]
      return `${h}.${encodeSegment(claims({ exp: now() + 200 }))}.${s}`
    }],
    ['unknown client', async () => await assertion(stranger.privateKey, 'ES256', 'no-such-client', ISSUER)],
    ['garbage', async () => 'not.a.jwt']
  ]
  for (const [name, make, extra] of cases) {
    // More cases than the per-client failure limit (20, then 429: test/hardening/throttle.test.ts).
    app.tally.clientAuth.throttle = new AuthThrottle()
    const res = await tokenWith(await make(), { resource: main.resource.identifier, ...extra })
    assertInvalidClient(t, res, name)
  }
})

t.test('real clients\' defaults: exp an hour ahead (authlib), aud = the endpoint being called', async (t) => {
  const hour = await tokenWith(await sign('Ed25519', { exp: now() + 3600 }), { resource: main.resource.identifier })
  t.equal(hour.statusCode, 200, `exp = iat + 3600 is accepted: ${hour.body}`)
  const token = hour.json().access_token as string
  const intro = await call('/introspect', { token, ...assertionParams(await sign('EC P-256', { exp: now() + 3600 }, {}, `${ISSUER}/introspect`)) })
  t.equal(intro.statusCode, 200, `aud = the introspection endpoint at /introspect: ${intro.body}`)
  t.equal(intro.json().active, true)
  const rev = await call('/revoke', { token, ...assertionParams(await sign('RSA-2048', {}, {}, `${ISSUER}/revoke`)) })
  t.equal(rev.statusCode, 200, `aud = the revocation endpoint at /revoke: ${rev.body}`)
  t.strictSame(rev.json(), {})
  assertInvalidClient(t, await call('/introspect', { token, ...assertionParams(await sign('EC P-256', {}, {}, `${ISSUER}/revoke`)) }), 'aud = another endpoint at /introspect')
})

t.test('the log names the check that failed, not a missing key', async (t) => {
  const causeOf = async (a: string): Promise<unknown> => await authenticateClient(app.tally.clientAuth, { method: 'private_key_jwt', clientId: undefined, assertion: a }, { sourceAddress: undefined, endpoint: '/token' })
    .then(() => undefined, (err: { cause?: unknown }) => err.cause)
  t.equal(await causeOf(await sign('EC P-256', {}, {}, 'https://elsewhere.example')), 'assertion aud check failed: check_failed', 'an unaccepted aud, signed with the registered key')
  t.equal(await causeOf(await sign('EC P-256', { iat: now() - 300, exp: now() - 120 })), 'assertion exp check failed: check_failed', 'an expired assertion')
  t.equal(await causeOf(await assertion((await generateKeyPair('ES256')).privateKey, 'ES256', main.clientId, ISSUER)), 'no registered key verifies the assertion', 'a key that is not registered')
})

t.test('a jti is single-use, across endpoints', async (t) => {
  const a = await sign('EC P-256')
  t.equal((await tokenWith(a, { resource: main.resource.identifier })).statusCode, 200, 'first use')
  assertInvalidClient(t, await tokenWith(a, { resource: main.resource.identifier }), 'replayed at /token')
  assertInvalidClient(t, await call('/introspect', { token: 'x', ...assertionParams(a) }), 'replayed at /introspect')
  assertInvalidClient(t, await call('/revoke', { token: 'x', ...assertionParams(a) }), 'replayed at /revoke')
  const jti = randomUUID()
  t.equal((await tokenWith(await sign('Ed25519', { jti }), { resource: main.resource.identifier })).statusCode, 200, 'a jti used once')
  assertInvalidClient(t, await tokenWith(await sign('RSA-2048', { jti }), { resource: main.resource.identifier }), 'the same jti in a new assertion, with another key')
  const first = await sign('EC P-256')
  t.equal((await call('/introspect', { token: 'x', ...assertionParams(first) })).statusCode, 200, 'first use at /introspect')
  assertInvalidClient(t, await tokenWith(first, { resource: main.resource.identifier }), 'then replayed at /token')
})

t.test('a replay raced by 20 concurrent requests: exactly one succeeds', async (t) => {
  for (const f of ['EC P-256', 'Ed25519']) {
    app.tally.clientAuth.throttle = new AuthThrottle() // 19 failures a round, 20 allowed per client
    const a = await sign(f)
    const results = await Promise.all(Array.from({ length: 20 }, async () => await tokenWith(a, { resource: main.resource.identifier })))
    const ok = results.filter((r) => r.statusCode === 200)
    t.equal(ok.length, 1, `${f}: exactly one 200`)
    const refused = results.filter((r) => r.statusCode === 401)
    t.equal(refused.length, 19, `${f}: nineteen 401`)
    for (const r of refused) t.strictSame(r.json(), { error: 'invalid_client', error_description: 'client authentication failed' })
  }
  await t.test('raced across the three endpoints', async (t) => {
    app.tally.clientAuth.throttle = new AuthThrottle()
    const a = await sign('RSA-2048')
    const urls = ['/token', '/introspect', '/revoke']
    const results = await Promise.all(Array.from({ length: 21 }, async (_, i) => {
      const url = urls[i % 3] as string
      return await call(url, { ...(url === '/token' ? { grant_type: 'client_credentials', resource: main.resource.identifier } : { token: 'x' }), ...assertionParams(a) })
    }))
    t.equal(results.filter((r) => r.statusCode === 200).length, 1, 'exactly one 200')
    t.equal(results.filter((r) => r.statusCode === 401).length, 20)
  })
})

t.test('a revoked key credential no longer authenticates; the others still do', async (t) => {
  const client = await keyedClient(main.resource)
  const s = async (family: string): Promise<string> => await sign(family, {}, {}, ISSUER, client)
  t.equal((await tokenWith(await s('RSA-2048'), { resource: main.resource.identifier })).statusCode, 200, 'before')
  const del = await adminCall(app, admin, 'DELETE', `/admin/identities/${client.id}/credentials/${client.keys['RSA-2048']?.credentialId as string}`)
  t.equal(del.statusCode, 204)
  assertInvalidClient(t, await tokenWith(await s('RSA-2048'), { resource: main.resource.identifier }), 'revoked key at /token')
  assertInvalidClient(t, await call('/introspect', { token: 'x', ...assertionParams(await s('RSA-2048')) }), 'revoked key at /introspect')
  assertInvalidClient(t, await call('/revoke', { token: 'x', ...assertionParams(await s('RSA-2048')) }), 'revoked key at /revoke')
  t.equal((await tokenWith(await s('EC P-256'), { resource: main.resource.identifier })).statusCode, 200, 'another key still works')
})

t.test('an expired key credential no longer authenticates', async (t) => {
  const identity = await createClient(app, admin, { kind: 'workload', prefix: 'pkj', secret: false })
  await grant(app, admin, identity.id, main.resource.identifier, ['read'])
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const reg = await registerKey(identity.id, publicKey, 'short', {})
  t.equal(reg.statusCode, 201)
  await app.tally.db.updateTable('credentials').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', reg.json().id).execute()
  assertInvalidClient(t, await tokenWith(await assertion(privateKey, 'ES256', identity.clientId, ISSUER, {}, { kid: 'short' }), { resource: main.resource.identifier }), 'expired key')
})

t.test('a disabled or deleted identity cannot authenticate with its keys', async (t) => {
  for (const change of ['disable', 'delete'] as const) {
    const client = await keyedClient(main.resource)
    const s = async (): Promise<string> => await sign('Ed25519', {}, {}, ISSUER, client)
    t.equal((await tokenWith(await s(), { resource: main.resource.identifier })).statusCode, 200, `${change}: before`)
    const res = change === 'disable'
      ? await adminCall(app, admin, 'PATCH', `/admin/identities/${client.id}`, { status: 'disabled' })
      : await adminCall(app, admin, 'DELETE', `/admin/identities/${client.id}`)
    t.ok(res.statusCode === 200 || res.statusCode === 204, `${change}: acknowledged`)
    assertInvalidClient(t, await tokenWith(await s(), { resource: main.resource.identifier }), `${change}d, at /token`)
    assertInvalidClient(t, await call('/introspect', { token: 'x', ...assertionParams(await s()) }), `${change}d, at /introspect`)
    assertInvalidClient(t, await call('/revoke', { token: 'x', ...assertionParams(await s()) }), `${change}d, at /revoke`)
  }
})

t.test('two authentication methods at once are 400 invalid_request', async (t) => {
  const svc = await createClient(app, admin)
  await grant(app, admin, svc.id, main.resource.identifier, ['read'])
  const cases: Array<[string, Record<string, string>, string | undefined]> = [
    ['Basic + client_assertion', { grant_type: 'client_credentials', ...assertionParams(await sign('EC P-256')) }, basic(svc.clientId, svc.secret)],
    ['client_secret_post + client_assertion', { grant_type: 'client_credentials', client_id: main.clientId, client_secret: svc.secret, ...assertionParams(await sign('EC P-256')) }, undefined],
    ['Basic + client_secret_post', { grant_type: 'client_credentials', client_id: svc.clientId, client_secret: svc.secret }, basic(svc.clientId, svc.secret)]
  ]
  for (const [name, params, authorization] of cases) {
    for (const url of ['/token', '/introspect', '/revoke']) {
      const res = await call(url, { ...params, ...(url !== '/token' && { token: 'x' }) }, authorization)
      t.equal(res.statusCode, 400, `${name} at ${url}`)
      t.equal(res.json().error, 'invalid_request', `${name} at ${url}`)
    }
  }
  const wrongType = await call('/token', { grant_type: 'client_credentials', client_assertion_type: 'urn:example:other', client_assertion: await sign('EC P-256') })
  t.equal(wrongType.statusCode, 400, 'an unknown client_assertion_type')
  t.equal(wrongType.json().error, 'invalid_request')
})
