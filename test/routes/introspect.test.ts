// POST /introspect (RFC 7662, docs/reference/endpoints.md): the active response, and exactly {"active": false} for every
// inactive reason — tokens an attacker can make, and "genuine" tokens (signed with Tally's key and
// recorded as sessions) that carry a claim or header Tally must still refuse.
import { randomUUID, createPublicKey } from 'node:crypto'
import type { Test } from 'tap'
import t from '../support/tap.js'
import { SignJWT, generateKeyPair, type JWK } from 'jose'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { ADMIN_SECRET, ISSUER, adminCall, adminToken, build, decodeHeader, decodePayload, encodeSegment, form, FORM_TYPE } from '../helper.js'
import { createClient, createResource, grant, type TestClient } from '../support/admin.js'
import { introspectAs, mintRecorded, revokeAs, tokenFor } from '../support/oauth.js'

const INACTIVE = { active: false }
const reencode = (token: string, header?: Record<string, unknown>, payload?: Record<string, unknown>): string => {
  const [h, p, s] = token.split('.') as [string, string, string]
  return `${header === undefined ? h : encodeSegment(header)}.${payload === undefined ? p : encodeSegment(payload)}.${s}`
}
const now = (): number => Math.floor(Date.now() / 1000)

function assertInactive (t: Test, res: LightMyRequestResponse, msg: string): void {
  t.equal(res.statusCode, 200, `${msg}: 200`)
  t.strictSame(res.json(), INACTIVE, `${msg}: exactly {"active": false}`)
  t.equal(res.headers['cache-control'], 'no-store', `${msg}: no-store`)
}

const app: FastifyInstance = await build(t)
const admin = await adminToken(app)
const rs = await createClient(app, admin, { kind: 'resource_server' })
const otherRs = await createClient(app, admin, { kind: 'resource_server' })
const api = await createResource(app, admin, { scopes: ['read', 'write', 'delete'], introspectors: [rs.clientId] })
const other = await createResource(app, admin, { scopes: ['read'], introspectors: [otherRs.clientId] })
const adminCaller = { clientId: 'admin', secret: ADMIN_SECRET }

/** A fresh identity entitled to `scopes` on the api resource, and one of its tokens. */
async function freshSvc (scopes = ['read', 'write']): Promise<{ svc: TestClient, token: string }> {
  const svc = await createClient(app, admin)
  await grant(app, admin, svc.id, api.identifier, scopes)
  return { svc, token: await tokenFor(app, svc, { resource: api.identifier }) }
}

async function isActive (token: string, caller = rs): Promise<boolean> {
  const res = await introspectAs(app, caller, token)
  return res.statusCode === 200 && res.json().active === true
}

t.test('an active token: exactly the docs/reference/endpoints.md members, with the token\'s values', async (t) => {
  const { svc, token } = await freshSvc()
  const claims = decodePayload(token)
  const res = await introspectAs(app, rs, token)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers.pragma, 'no-cache')
  t.match(res.headers['content-type'], /^application\/json/)
  t.strictSame(res.json(), {
    active: true,
    iss: ISSUER,
    sub: svc.id,
    client_id: svc.clientId,
    aud: api.identifier,
    scope: 'read write',
    exp: claims.exp,
    iat: claims.iat,
    jti: claims.jti,
    token_type: 'Bearer',
    epoch: 1,
    entitlements: [{ resource: api.identifier, scopes: ['read', 'write'] }]
  })
  t.ok(Number.isInteger(claims.exp) && claims.exp > claims.iat)
})

t.test('the caller may authenticate with client_secret_post', async (t) => {
  const { token } = await freshSvc()
  const res = await app.inject({ method: 'POST', url: '/introspect', headers: { 'content-type': FORM_TYPE }, payload: form({ token, client_id: rs.clientId, client_secret: rs.secret }) })
  t.equal(res.statusCode, 200)
  t.equal(res.json().active, true)
})

t.test('token_type_hint is optional and never trusted', async (t) => {
  const { token } = await freshSvc()
  for (const hint of ['access_token', 'refresh_token', 'bogus']) {
    const res = await introspectAs(app, rs, token, { token_type_hint: hint })
    t.equal(res.statusCode, 200, hint)
    t.equal(res.json().active, true, `hint ${hint} ignored`)
  }
  assertInactive(t, await introspectAs(app, rs, 'garbage', { token_type_hint: 'access_token' }), 'garbage with a hint')
})

t.test('admins (admin:read) may introspect any token; others only their resources\' tokens', async (t) => {
  const { svc, token } = await freshSvc()
  const res = await introspectAs(app, adminCaller, token)
  t.equal(res.statusCode, 200)
  t.equal(res.json().active, true, 'the bootstrap admin sees a token for the api')
  t.equal((await introspectAs(app, adminCaller, admin)).json().active, true, 'and an admin token')
  assertInactive(t, await introspectAs(app, otherRs, token), 'introspector of another resource')
  assertInactive(t, await introspectAs(app, svc, token), 'the token\'s own client, not an introspector')
  assertInactive(t, await introspectAs(app, rs, admin), 'an admin token, to an api introspector')
  // An identity holding admin:write and admin:revoke but not admin:read is not an admin reader.
  const writer = await createClient(app, admin)
  await grant(app, admin, writer.id, 'urn:tally:admin', ['admin:write', 'admin:revoke'])
  assertInactive(t, await introspectAs(app, writer, token), 'admin without admin:read')
  const reader = await createClient(app, admin)
  await grant(app, admin, reader.id, 'urn:tally:admin', ['admin:read'])
  t.equal((await introspectAs(app, reader, token)).json().active, true, 'an admin:read identity sees it')
  // Becoming an introspector takes effect at once.
  const late = await createClient(app, admin)
  assertInactive(t, await introspectAs(app, late, token), 'before being made an introspector')
  const patch = await adminCall(app, admin, 'PATCH', `/admin/resources/${api.id}`, { introspectors: [rs.clientId, late.clientId] })
  t.equal(patch.statusCode, 200)
  t.equal((await introspectAs(app, late, token)).json().active, true, 'after being made an introspector')
  const unpatch = await adminCall(app, admin, 'PATCH', `/admin/resources/${api.id}`, { introspectors: [rs.clientId] })
  t.equal(unpatch.statusCode, 200)
  assertInactive(t, await introspectAs(app, late, token), 'after being removed as an introspector')
})

t.test('an unauthenticated or badly authenticated caller is 401 invalid_client', async (t) => {
  const { token } = await freshSvc()
  const cases: Array<[string, () => Promise<LightMyRequestResponse>]> = [
    ['no credentials', async () => await introspectAs(app, undefined, token)],
    ['wrong secret', async () => await introspectAs(app, { clientId: rs.clientId, secret: rs.secret + 'x' }, token)],
    ['unknown client', async () => await introspectAs(app, { clientId: 'no-such-client', secret: rs.secret }, token)],
    ['a bearer token instead of client credentials', async () => await app.inject({ method: 'POST', url: '/introspect', headers: { 'content-type': FORM_TYPE, authorization: `Bearer ${token}` }, payload: form({ token }) })]
  ]
  for (const [name, call] of cases) {
    const res = await call()
    t.equal(res.statusCode, 401, name)
    t.strictSame(res.json(), { error: 'invalid_client', error_description: 'client authentication failed' }, name)
    t.equal(res.headers['www-authenticate'], `Basic realm="${ISSUER}"`, name)
    t.equal(res.headers['cache-control'], 'no-store', name)
    t.notMatch(res.body, /active/, `${name}: no introspection result`)
  }
})

t.test('a missing token is 400 invalid_request', async (t) => {
  const res = await app.inject({ method: 'POST', url: '/introspect', headers: { 'content-type': FORM_TYPE, authorization: `Basic ${Buffer.from(`${rs.clientId}:${rs.secret}`).toString('base64')}` }, payload: form({ token_type_hint: 'access_token' }) })
  t.equal(res.statusCode, 400)
  t.strictSame(res.json(), { error: 'invalid_request', error_description: 'token is required' })
  const twice = await app.inject({ method: 'POST', url: '/introspect', headers: { 'content-type': FORM_TYPE, authorization: `Basic ${Buffer.from(`${rs.clientId}:${rs.secret}`).toString('base64')}` }, payload: 'token=a&token=b' })
  t.equal(twice.statusCode, 400, 'a duplicated token parameter')
  t.equal(twice.json().error, 'invalid_request')
})

t.test('tokens an attacker can make are inactive', async (t) => {
  const { token } = await freshSvc()
  t.ok(await isActive(token), 'the original is active')
  const header = decodeHeader(token)
  const claims = decodePayload(token)
  const [h, p, s] = token.split('.') as [string, string, string]
  const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11)

  const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: JWK[] }
  const publicJwk = jwks.keys.find((k) => k.kid === header.kid) as JWK
  t.ok(publicJwk, 'the signing key is published')
  const spkiPem = createPublicKey({ key: publicJwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' })
  const fresh = await generateKeyPair('ES256')
  const hs = async (secret: Uint8Array): Promise<string> =>
    await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: header.kid }).sign(secret)
  const es = async (kid: string, c = claims): Promise<string> =>
    await new SignJWT(c).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid }).sign(fresh.privateKey)

  const cases: Array<[string, string]> = [
    ['garbage', 'not-a-token'],
    ['three garbage segments', 'aaa.bbb.ccc'],
    ['a JSON string', JSON.stringify(claims)],
    ['the token with trailing whitespace', token + ' '],
    ['the token with a trailing dot', token + '.'],
    ['header and payload only', `${h}.${p}`],
    ['bad signature (one character flipped)', `${h}.${p}.${flipped}`],
    ['signature cut short', `${h}.${p}.${s.slice(0, -4)}`],
    ['another token\'s signature', `${h}.${p}.${(admin.split('.')[2] as string)}`],
    ['payload altered (scope widened), signature kept', reencode(token, undefined, { ...claims, scope: 'read write delete' })],
    ['payload altered (epoch raised), signature kept', reencode(token, undefined, { ...claims, epoch: 99 })],
    ['alg none, signature removed', `${encodeSegment({ ...header, alg: 'none' })}.${p}.`],
    ['alg none, signature kept', reencode(token, { ...header, alg: 'none' })],
    ['HS256 keyed with the public JWK (JSON)', await hs(Buffer.from(JSON.stringify(publicJwk)))],
    ['HS256 keyed with the public key (SPKI PEM)', await hs(Buffer.from(spkiPem as string))],
    ['HS256 keyed with the public key x coordinate', await hs(Buffer.from(publicJwk.x as string, 'base64url'))],
    ['unknown kid (fresh ES256 key)', await es('no-such-kid')],
    ['a fresh ES256 key under Tally\'s kid', await es(header.kid)],
    ['a fresh ES256 key, new jti', await es(header.kid, { ...claims, jti: randomUUID() })],
    ['wrong typ (JWT), signature kept', reencode(token, { ...header, typ: 'JWT' })],
    ['no typ, signature kept', reencode(token, { alg: header.alg, kid: header.kid })],
    ['wrong iss, signature kept', reencode(token, undefined, { ...claims, iss: 'https://evil.example' })],
    ['expired, signature kept', reencode(token, undefined, { ...claims, exp: now() - 60 })],
    ['an oversized token', token + 'A'.repeat(20_000)]
  ]
  for (const [name, forged] of cases) assertInactive(t, await introspectAs(app, rs, forged), name)
  for (const [name, forged] of cases.slice(6, 12)) assertInactive(t, await introspectAs(app, adminCaller, forged), `${name} (to an admin)`)
  t.ok(await isActive(token), 'the original is still active')
})

t.test('genuine tokens (Tally\'s key, recorded session) with a bad claim or header are inactive', async (t) => {
  const { svc, token } = await freshSvc()
  const base = decodePayload(token)
  const mint = async (claims: Record<string, unknown>, header?: Record<string, unknown>, exp = now() + 300): Promise<string> =>
    await mintRecorded(app, { identityId: svc.id, resource: api.identifier, claims: { ...base, jti: randomUUID(), exp, ...claims }, header, sessionEpoch: 1, exp })

  // The fixture itself makes active tokens: without this control, every case below would pass vacuously.
  const control = await mint({})
  t.equal((await introspectAs(app, rs, control)).json().active, true, 'control: a correctly minted token is active')

  const strip = (key: string): Record<string, unknown> => { const c: Record<string, unknown> = { ...base, jti: randomUUID(), exp: now() + 300 }; delete c[key]; return c }
  const cases: Array<[string, Promise<string>]> = [
    ['expired a minute ago', mint({ iat: now() - 360 }, undefined, now() - 60)],
    ['expiring this second', mint({}, undefined, now())],
    ['missing epoch', mintRecorded(app, { identityId: svc.id, resource: api.identifier, claims: strip('epoch'), sessionEpoch: 1, exp: now() + 300 })],
    ['non-integer epoch (1.5)', mint({ epoch: 1.5 })],
    ['non-integer epoch ("1")', mint({ epoch: '1' })],
    ['non-integer epoch (null)', mint({ epoch: null })],
    ['non-integer epoch ([1])', mint({ epoch: [1] })],
    ['wrong typ (JWT)', mint({}, { typ: 'JWT' })],
    ['missing typ', mint({}, { typ: undefined })],
    ['wrong iss', mint({ iss: 'https://evil.example' })],
    ['iss with a trailing slash', mint({ iss: ISSUER + '/' })],
    ['missing iss', mintRecorded(app, { identityId: svc.id, resource: api.identifier, claims: strip('iss'), sessionEpoch: 1, exp: now() + 300 })],
    ['unknown kid', mint({}, { kid: 'no-such-kid' })],
    ['missing kid', mint({}, { kid: undefined })],
    ['alg header ES384', mint({}, { alg: 'ES384' })],
    ['alg header none', mint({}, { alg: 'none' })]
  ]
  for (const [name, minted] of cases) assertInactive(t, await introspectAs(app, rs, await minted), name)

  // A session recorded at an epoch older than the identity's current one is stale, whatever the claim says.
  const stale = await mintRecorded(app, { identityId: svc.id, resource: api.identifier, claims: { ...base, jti: randomUUID() }, sessionEpoch: 0, exp: base.exp })
  assertInactive(t, await introspectAs(app, rs, stale), 'session recorded at epoch 0')

  // Defence in depth (Tally always records the session at the token's epoch, so this needs a tampered
  // database): the token's own epoch claim is compared with the current epoch too.
  const mismatched = await mint({ epoch: 0 })
  const res = await introspectAs(app, rs, mismatched)
  t.strictSame(res.json(), INACTIVE, 'epoch claim below the identity\'s, session row at the current epoch')
})

t.test('a revoked token is inactive', async (t) => {
  const { svc, token } = await freshSvc()
  const sibling = await tokenFor(app, svc, { resource: api.identifier })
  const res = await revokeAs(app, svc, { token })
  t.equal(res.statusCode, 200)
  assertInactive(t, await introspectAs(app, rs, token), 'revoked, to the introspector')
  assertInactive(t, await introspectAs(app, adminCaller, token), 'revoked, to an admin')
  t.ok(await isActive(sibling), 'another token of the same identity stays active')
})

interface Narrowing { name: string, act: (svc: TestClient, ctx: { scopedResource: { id: string, identifier: string } }) => Promise<LightMyRequestResponse>, status: number, reissue?: Record<string, string> }

t.test('stale after each kind of narrowing change; additions keep tokens active', async (t) => {
  const narrowings: Narrowing[] = [
    {
      name: 'entitlement deleted',
      act: async (svc) => {
        const eid = await grant(app, admin, svc.id, other.identifier, ['read'])
        return await adminCall(app, admin, 'DELETE', `/admin/identities/${svc.id}/entitlements/${eid}`)
      },
      status: 204,
      reissue: { resource: api.identifier }
    },
    {
      name: 'PUT that narrows the scopes',
      act: async (svc) => await adminCall(app, admin, 'PUT', `/admin/identities/${svc.id}/entitlements`, [{ resource: api.identifier, scopes: ['read'] }]),
      status: 200,
      reissue: { resource: api.identifier }
    },
    {
      name: 'PUT that adds conditions',
      act: async (svc) => await adminCall(app, admin, 'PUT', `/admin/identities/${svc.id}/entitlements`, [{ resource: api.identifier, scopes: ['read', 'write'], conditions: { environment: 'staging' } }]),
      status: 200,
      reissue: { resource: api.identifier }
    },
    {
      name: 'PUT that brings an expiry forward',
      act: async (svc) => await adminCall(app, admin, 'PUT', `/admin/identities/${svc.id}/entitlements`, [{ resource: api.identifier, scopes: ['read', 'write'], expires_at: new Date(Date.now() + 3_600_000).toISOString() }]),
      status: 200,
      reissue: { resource: api.identifier }
    },
    {
      name: 'a scope removed from the resource',
      act: async (_svc, { scopedResource }) => await adminCall(app, admin, 'PATCH', `/admin/resources/${scopedResource.id}`, { scopes: ['read'] }),
      status: 200
    },
    {
      name: 'the credential used revoked',
      act: async (svc) => await adminCall(app, admin, 'DELETE', `/admin/identities/${svc.id}/credentials/${svc.secretId}`),
      status: 204
    },
    {
      name: 'another credential revoked',
      act: async (svc) => {
        const extra = await adminCall(app, admin, 'POST', `/admin/identities/${svc.id}/secrets`, {})
        return await adminCall(app, admin, 'DELETE', `/admin/identities/${svc.id}/credentials/${extra.json().id as string}`)
      },
      status: 204,
      reissue: { resource: api.identifier }
    },
    {
      name: 'identity disabled',
      act: async (svc) => await adminCall(app, admin, 'PATCH', `/admin/identities/${svc.id}`, { status: 'disabled' }),
      status: 200
    },
    {
      name: 'identity deleted',
      act: async (svc) => await adminCall(app, admin, 'DELETE', `/admin/identities/${svc.id}`),
      status: 204
    },
    {
      name: 'all sessions revoked (admin API)',
      act: async (svc) => await adminCall(app, admin, 'POST', `/admin/identities/${svc.id}/revoke-sessions`, { reason: 'test' }),
      status: 200,
      reissue: { resource: api.identifier }
    }
  ]
  for (const n of narrowings) {
    await t.test(n.name, async (t) => {
      // Each case gets its own identity and, for the scope removal, its own resource.
      const scopedResource = await createResource(app, admin, { scopes: ['read', 'write'], introspectors: [rs.clientId] })
      const svc = await createClient(app, admin)
      await grant(app, admin, svc.id, api.identifier, ['read', 'write'])
      await grant(app, admin, svc.id, scopedResource.identifier, ['read', 'write'])
      const token = await tokenFor(app, svc, { resource: n.name.startsWith('a scope') ? scopedResource.identifier : api.identifier })
      t.ok(await isActive(token), 'active before')
      const res = await n.act(svc, { scopedResource })
      t.equal(res.statusCode, n.status, `the change is acknowledged: ${res.body}`)
      assertInactive(t, await introspectAs(app, rs, token), `${n.name}: to the introspector`)
      assertInactive(t, await introspectAs(app, adminCaller, token), `${n.name}: to an admin`)
      if (n.reissue !== undefined) {
        const fresh = await tokenFor(app, svc, n.reissue)
        t.equal(decodePayload(fresh).epoch, decodePayload(token).epoch + 1, 'a new token carries the bumped epoch')
        t.ok(await isActive(fresh), 'a new token is active')
      }
    })
  }

  await t.test('additions do not narrow: old tokens stay active', async (t) => {
    const { svc, token } = await freshSvc(['read'])
    const add = await adminCall(app, admin, 'POST', `/admin/identities/${svc.id}/entitlements`, { resource: other.identifier, scopes: ['read'] })
    t.equal(add.statusCode, 201)
    const widen = await adminCall(app, admin, 'PUT', `/admin/identities/${svc.id}/entitlements`, [{ resource: api.identifier, scopes: ['read', 'write'] }, { resource: other.identifier, scopes: ['read'] }])
    t.equal(widen.statusCode, 200)
    const secret = await adminCall(app, admin, 'POST', `/admin/identities/${svc.id}/secrets`, {})
    t.equal(secret.statusCode, 201)
    const scope = await adminCall(app, admin, 'PATCH', `/admin/resources/${api.id}`, { scopes: ['read', 'write', 'delete', 'extra'] })
    t.equal(scope.statusCode, 200)
    t.ok(await isActive(token), 'still active after additions')
    const restore = await adminCall(app, admin, 'PATCH', `/admin/resources/${api.id}`, { scopes: ['read', 'write', 'delete'] })
    t.equal(restore.statusCode, 200)
  })
})

t.test('disabled, re-enabled: the old token stays inactive, a new one works', async (t) => {
  const { svc, token } = await freshSvc()
  t.equal((await adminCall(app, admin, 'PATCH', `/admin/identities/${svc.id}`, { status: 'disabled' })).statusCode, 200)
  assertInactive(t, await introspectAs(app, rs, token), 'disabled')
  const denied = await introspectAs(app, svc, token)
  t.equal(denied.statusCode, 401, 'a disabled identity cannot authenticate to introspect')
  t.equal((await adminCall(app, admin, 'PATCH', `/admin/identities/${svc.id}`, { status: 'active' })).statusCode, 200)
  assertInactive(t, await introspectAs(app, rs, token), 'still inactive after re-enabling (the epoch moved on)')
  t.ok(await isActive(await tokenFor(app, svc, { resource: api.identifier })), 'a new token is active')
})

t.test('a deleted identity\'s tokens stay inactive when its client_id is reused', async (t) => {
  const { svc, token } = await freshSvc()
  t.equal((await adminCall(app, admin, 'DELETE', `/admin/identities/${svc.id}`)).statusCode, 204)
  const again = await createClient(app, admin, { clientId: svc.clientId })
  t.not(again.id, svc.id)
  await grant(app, admin, again.id, api.identifier, ['read', 'write'])
  assertInactive(t, await introspectAs(app, rs, token), 'the deleted identity\'s token')
  const fresh = await tokenFor(app, again, { resource: api.identifier })
  const res = await introspectAs(app, rs, fresh)
  t.equal(res.json().active, true)
  t.equal(res.json().sub, again.id, 'the new identity has its own sub')
})

t.test('an introspector that is itself disabled cannot introspect', async (t) => {
  const { token } = await freshSvc()
  const lone = await createClient(app, admin, { kind: 'resource_server' })
  const res = await createResource(app, admin, { scopes: ['x'], introspectors: [lone.clientId] })
  t.ok(res.id)
  t.equal((await adminCall(app, admin, 'PATCH', `/admin/identities/${lone.id}`, { status: 'disabled' })).statusCode, 200)
  const call = await introspectAs(app, lone, token)
  t.equal(call.statusCode, 401)
  t.equal(call.json().error, 'invalid_client')
})
