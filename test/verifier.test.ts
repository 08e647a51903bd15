import t from './support/tap.js'
import Fastify from 'fastify'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { sql } from '../server/store/kysely.js'
import { createVerifier, tallyAuth, type Verifier, type VerifierOptions, type FeedEvent } from '../packages/verifier/src/index.js'
import { adminCall, basic, decodeHeader, decodePayload, encodeSegment, form, FORM_TYPE, ISSUER, sharedStore } from './helper.js'
import { bumpEpoch } from '../server/store/epochs.js'
import { createClient } from './support/admin.js'
import { tokenFor } from './support/oauth.js'
import { type FeedFixture, feedFixture, type Instance, startInstance } from './support/instances.js'
import { waitFor } from './support/wait.js'

const onPostgres = process.env.DATABASE_URL !== undefined
// Every instance of this file runs on one database, the file's: helpers get the top-level test.
const root = t

async function verifierOn (instance: Instance, f: FeedFixture, options: Partial<VerifierOptions> = {}): Promise<Verifier> {
  const verifier = await createVerifier({
    issuer: ISSUER, serverUrl: instance.url, audience: f.resource, clientId: f.rs.clientId, clientSecret: f.rs.secret, ...options
  })
  instance.onClosed(async () => await verifier.close())
  return verifier
}

// Two instances on Postgres (own pools, own LISTEN connections); one on PGlite unless `size` asks for two
// apps sharing the embedded database.
async function cluster (t: { teardown: (fn: () => unknown) => void }, size = onPostgres ? 2 : 1): Promise<Instance[]> {
  const instances = [await startInstance(root, t)]
  while (instances.length < size) instances.push(await startInstance(root, t, { ownStore: true }))
  return instances
}

t.test('a narrowing change through one instance reaches the verifiers of every instance', async (t) => {
  const instances = await cluster(t)
  const a = instances[0] as Instance
  const f = await feedFixture(a.app)
  const verifiers = await Promise.all(instances.map((i, n) => verifierOn(i, f, { transport: n === 0 ? 'sse' : 'long-poll' })))
  const old = await tokenFor(a.app, f.svc, { resource: f.resource })
  for (const v of verifiers) t.match(await v.verify(old, { scopes: ['read'] }), { active: true, claims: { sub: f.svc.id, epoch: 1 } })

  // Delete the entitlement (narrowing: epoch bump), then grant a smaller one.
  const listed = await adminCall(a.app, f.admin, 'GET', `/admin/identities/${f.svc.id}`)
  const entitlementId = listed.json().entitlements[0].id
  t.equal((await adminCall(a.app, f.admin, 'DELETE', `/admin/identities/${f.svc.id}/entitlements/${entitlementId}`)).statusCode, 204)
  for (const v of verifiers) {
    await waitFor(async () => !(await v.verify(old)).active, { what: 'the old token to be refused' })
    t.strictSame(await v.verify(old), { active: false, reason: 'stale' })
  }
  t.equal((await adminCall(a.app, f.admin, 'POST', `/admin/identities/${f.svc.id}/entitlements`, { resource: f.resource, scopes: ['read'] })).statusCode, 201)
  const fresh = await tokenFor(instances[instances.length - 1]?.app ?? a.app, f.svc, { resource: f.resource })
  for (const v of verifiers) {
    t.match(await v.verify(fresh, { scopes: ['read'] }), { active: true, claims: { epoch: 2 } })
    t.strictSame(await v.verify(fresh, { scopes: ['write'] }), { active: false, reason: 'insufficient_scope' })
  }

  // A single token revoked (RFC 7009) by its owner: refused as revoked, its siblings untouched.
  const sibling = await tokenFor(a.app, f.svc, { resource: f.resource })
  const revoked = await a.app.inject({ method: 'POST', url: '/revoke', headers: { authorization: basic(f.svc.clientId, f.svc.secret), 'content-type': FORM_TYPE }, payload: form({ token: fresh }) })
  t.equal(revoked.statusCode, 200)
  for (const v of verifiers) {
    await waitFor(async () => !(await v.verify(fresh)).active, { what: 'the revoked token to be refused' })
    t.strictSame(await v.verify(fresh), { active: false, reason: 'revoked' })
    t.equal((await v.verify(sibling)).active, true)
  }
})

t.test('verify answers each reason', async (t) => {
  const [a] = await cluster(t) as [Instance]
  const f = await feedFixture(a.app)
  const v = await verifierOn(a, f)
  const token = await tokenFor(a.app, f.svc, { resource: f.resource, scope: 'read' })

  const other = `https://other-${f.rs.clientId}.example`
  t.equal((await adminCall(a.app, f.admin, 'POST', '/admin/resources', { identifier: other, scopes: ['read'] })).statusCode, 201)
  t.equal((await adminCall(a.app, f.admin, 'POST', `/admin/identities/${f.svc.id}/entitlements`, { resource: other, scopes: ['read'] })).statusCode, 201)
  const wrongAudience = await tokenFor(a.app, f.svc, { resource: other })

  const { privateKey } = await generateKeyPair('ES256')
  const [h, , s] = token.split('.') as [string, string, string]
  const forged = await new SignJWT(decodePayload(token)).setProtectedHeader({ ...decodeHeader(token) } as { alg: string }).sign(privateKey)
  const tampered = `${h}.${encodeSegment({ ...decodePayload(token), scope: 'read write' })}.${s}`

  const cases: Array<[string, string, string[] | undefined, string]> = [
    ['not a JWT', 'garbage', undefined, 'invalid'],
    ['another audience', wrongAudience, undefined, 'invalid'],
    ['a signature by another key under a known kid', forged, undefined, 'invalid'],
    ['altered claims', tampered, undefined, 'invalid'],
    ['a missing scope', token, ['read', 'write'], 'insufficient_scope']
  ]
  for (const [what, value, scopes, reason] of cases) t.strictSame(await v.verify(value, { scopes }), { active: false, reason }, what)
  t.match(await v.verify(token, { scopes: ['read'] }), { active: true, claims: { scope: 'read', aud: f.resource, iss: ISSUER, client_id: f.svc.clientId } })

  // Expiry is re-checked from the cache: move the clock past exp.
  const realNow = Date.now
  Date.now = () => realNow() + 3600_000
  try {
    t.strictSame(await v.verify(token), { active: false, reason: 'expired' })
  } finally {
    Date.now = realNow
  }
})

t.test('a verifier whose feed is cut fails closed, then catches up from its cursor', async (t) => {
  const instances = await cluster(t, 2)
  const a = instances[0] as Instance
  const b = instances[instances.length - 1] as Instance
  const f = await feedFixture(a.app)
  const events: FeedEvent[] = []
  const v = await verifierOn(b, f, { onEvent: (e) => events.push(e) })
  const tokens = await Promise.all([1, 2, 3].map(async () => await tokenFor(a.app, f.svc, { resource: f.resource })))
  for (const token of tokens) t.equal((await v.verify(token)).active, true)

  await b.app.close()
  const downAt = Date.now()
  // While B is down: a token revoked and two epoch bumps, written through A (or the store itself on PGlite).
  const { store } = await sharedStore(root)
  const revokedToken = tokens[0] as string
  const revoke = await a.app.inject({ method: 'POST', url: '/revoke', headers: { authorization: basic(f.svc.clientId, f.svc.secret), 'content-type': FORM_TYPE }, payload: form({ token: revokedToken }) })
  t.equal(revoke.statusCode, 200)
  for (let i = 0; i < 2; i++) await store.db.transaction().execute(async (trx) => await bumpEpoch(trx, f.svc.id, 'sessions_revoked'))

  await waitFor(async () => (await v.verify(tokens[1] as string)).active === false, { what: 'the verifier to fail closed' })
  t.strictSame(await v.verify(tokens[1] as string), { active: false, reason: 'feed_unavailable' })
  t.ok(Date.now() - downAt >= v.maxStalenessS * 1000 - 1000, 'not before its view could be too old')

  const restarted = await startInstance(root, t, { ownStore: true, port: b.port })
  await waitFor(async () => (await v.verify(tokens[2] as string)).active === false && v.stalenessMs < 1000, { what: 'the verifier to resume' })
  t.strictSame(await v.verify(revokedToken), { active: false, reason: 'revoked' })
  t.strictSame(await v.verify(tokens[1] as string), { active: false, reason: 'stale' })
  t.strictSame(events.map((e) => e.type === 'epoch' ? `epoch ${e.epoch}` : e.type === 'revoked' ? `revoked ${e.jti}` : `key ${e.kid}`),
    [`revoked ${decodePayload(revokedToken).jti}`, 'epoch 2', 'epoch 3'],
    'every event of the outage, once, in commit order')
  t.match(await v.verify(await tokenFor(restarted.app, f.svc, { resource: f.resource })), { active: true, claims: { epoch: 3 } })
})

t.test('a lost LISTEN connection is re-established, and events still arrive meanwhile', { skip: onPostgres ? false : 'Postgres only' }, async (t) => {
  const [a, b] = await cluster(t) as [Instance, Instance]
  const f = await feedFixture(a.app)
  const v = await verifierOn(b, f)
  const old = await tokenFor(a.app, f.svc, { resource: f.resource })
  t.equal((await v.verify(old)).active, true)
  const pid = b.app.epochFeed.listenerPid
  t.type(pid, 'number')
  const { store } = await sharedStore(root)
  await sql`select pg_terminate_backend(${pid})`.execute(store.db)
  t.equal((await adminCall(a.app, f.admin, 'POST', `/admin/identities/${f.svc.id}/revoke-sessions`, {})).statusCode, 200)
  await waitFor(async () => !(await v.verify(old)).active, { what: 'the bump to reach the verifier' })
  t.strictSame(await v.verify(old), { active: false, reason: 'stale' })
  await waitFor(() => b.app.epochFeed.listening && b.app.epochFeed.listenerPid !== pid, { what: 'the listener to reconnect' })
  t.equal(v.stalenessMs < v.maxStalenessS * 1000, true, 'the view stayed fresh')
})

t.test('with fallback introspect, a stale view asks /introspect', async (t) => {
  // The server heartbeats every 10 s; a verifier that tolerates 1 s is stale between them.
  const [a] = await cluster(t)
  const slow = await startInstance(root, t, { overrides: { FEED_MAX_STALENESS_S: '30' } })
  const f = await feedFixture((a as Instance).app)
  const introspecting = await verifierOn(slow, f, { maxStalenessS: 1, fallback: 'introspect' })
  const denying = await verifierOn(slow, f, { maxStalenessS: 1 })
  const token = await tokenFor(slow.app, f.svc, { resource: f.resource })
  await waitFor(() => introspecting.stalenessMs > 1000 && denying.stalenessMs > 1000, { what: 'the views to age' })
  t.match(await introspecting.verify(token, { scopes: ['read'] }), { active: true, claims: { sub: f.svc.id } })
  t.strictSame(await denying.verify(token), { active: false, reason: 'feed_unavailable' })
  t.equal((await adminCall(slow.app, f.admin, 'POST', `/admin/identities/${f.svc.id}/revoke-sessions`, {})).statusCode, 200)
  // Either path may answer first: the feed (stale) or the introspection (revoked, it does not say why).
  t.match(await introspecting.verify(token), { active: false, reason: /^(stale|revoked)$/ })
})

t.test('a verifier authenticating with private_key_jwt reads the feed with POST', async (t) => {
  const [a] = await cluster(t) as [Instance]
  const f = await feedFixture(a.app)
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid: 'rs-key-1', alg: 'ES256' }
  t.equal((await adminCall(a.app, f.admin, 'POST', `/admin/identities/${f.rs.id}/keys`, { jwk })).statusCode, 201)
  const privateJwk = { ...(await exportJWK(privateKey)), kid: 'rs-key-1', alg: 'ES256' }
  for (const transport of ['sse', 'long-poll'] as const) {
    const v = await verifierOn(a, f, { clientSecret: undefined, privateKey: privateJwk, transport })
    const old = await tokenFor(a.app, f.svc, { resource: f.resource })
    t.equal((await v.verify(old)).active, true, transport)
    t.equal((await adminCall(a.app, f.admin, 'POST', `/admin/identities/${f.svc.id}/revoke-sessions`, {})).statusCode, 200)
    await waitFor(async () => !(await v.verify(old)).active, { what: 'the bump to arrive' })
    t.strictSame(await v.verify(old), { active: false, reason: 'stale' }, transport)
  }
})

t.test('createVerifier refuses bad configuration and credentials', async (t) => {
  const [a] = await cluster(t) as [Instance]
  const f = await feedFixture(a.app)
  const svc = await createClient(a.app, f.admin)
  const base = { issuer: ISSUER, serverUrl: a.url, audience: f.resource }
  await t.rejects(createVerifier({ ...base, clientId: f.rs.clientId, clientSecret: 'tly_wrong' }), { status: 401, code: 'ERR_TALLY_VERIFIER_HTTP' } as object as Error)
  await t.rejects(createVerifier({ ...base, clientId: svc.clientId, clientSecret: svc.secret }), { status: 403 } as object as Error)
  await t.rejects(createVerifier({ ...base, issuer: 'https://elsewhere.example', clientId: f.rs.clientId, clientSecret: f.rs.secret }), { code: 'ERR_TALLY_VERIFIER_DISCOVERY', message: /issuer/ } as object as Error)
  await t.rejects(createVerifier({ ...base, clientId: f.rs.clientId }), { code: 'ERR_TALLY_VERIFIER_CONFIG', name: 'VerifierConfigError' } as object as Error)
  await t.rejects(createVerifier({ ...base, audience: '', clientId: f.rs.clientId, clientSecret: f.rs.secret }), { code: 'ERR_TALLY_VERIFIER_CONFIG' } as object as Error)
})

t.test('the fastify hook answers RFC 6750 errors', async (t) => {
  const [a] = await cluster(t) as [Instance]
  const f = await feedFixture(a.app)
  const v = await verifierOn(a, f)
  const rs = Fastify()
  t.teardown(() => rs.close())
  rs.get('/things', { preHandler: tallyAuth(v, { scopes: ['read'] }) }, async (request) => ({ caller: request.tallyToken?.client_id }))
  rs.get('/admin', { preHandler: tallyAuth(v, { scopes: ['write'] }) }, async () => ({ ok: true }))
  const token = await tokenFor(a.app, f.svc, { resource: f.resource, scope: 'read' })
  const call = async (url: string, authorization?: string): Promise<any> => await rs.inject({ url, headers: authorization === undefined ? {} : { authorization } })

  let res = await call('/things', `Bearer ${token}`)
  t.equal(res.statusCode, 200)
  t.strictSame(res.json(), { caller: f.svc.clientId })
  res = await call('/things')
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer')
  res = await call('/admin', `Bearer ${token}`)
  t.equal(res.statusCode, 403)
  t.equal(res.headers['www-authenticate'], 'Bearer error="insufficient_scope", scope="write"')
  t.strictSame(res.json(), { error: 'insufficient_scope', error_description: 'the request requires scope write' })
  res = await call('/things', 'Bearer abc.def.ghi')
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token", error_description="invalid"')

  t.equal((await adminCall(a.app, f.admin, 'POST', `/admin/identities/${f.svc.id}/revoke-sessions`, {})).statusCode, 200)
  await waitFor(async () => !(await v.verify(token)).active, { what: 'the bump to arrive' })
  res = await call('/things', `Bearer ${token}`)
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token", error_description="stale"')
  t.strictSame(res.json(), { error: 'invalid_token', error_description: 'stale' })
})

t.test('first sight checks header, claims and signature; a cached token shields no other string', async (t) => {
  const [a] = await cluster(t) as [Instance]
  const f = await feedFixture(a.app)
  const v = await verifierOn(a, f)
  const token = await tokenFor(a.app, f.svc, { resource: f.resource, scope: 'read' })
  const [h, p, s] = token.split('.') as [string, string, string]
  const header = decodeHeader(token)
  t.match(await v.verify(token), { active: true }, 'the genuine token, first sight')
  t.match(await v.verify(token), { active: true }, 'the genuine token, second sight: cached now')

  const { privateKey } = await generateKeyPair('ES256')
  const otherSignature = (await new SignJWT(decodePayload(token)).setProtectedHeader(header as { alg: string }).sign(privateKey)).split('.')[2] as string
  const flipped = Buffer.from(s, 'base64url')
  flipped[10] = (flipped[10] as number) ^ 1
  const cases: Array<[string, string]> = [
    ['the cached claims under another key\'s signature', `${h}.${p}.${otherSignature}`],
    ['the cached claims with one signature bit flipped', `${h}.${p}.${flipped.toString('base64url')}`],
    ['the cached claims with no signature', `${h}.${p}.`],
    ['a character outside base64url in the signature', `${h}.${p}.${s}!`],
    ['a signature one byte short', `${h}.${p}.${Buffer.from(s, 'base64url').subarray(1).toString('base64url')}`],
    ['alg none', `${encodeSegment({ ...header, alg: 'none' })}.${p}.`],
    ['alg HS256 (the public key as a secret)', `${encodeSegment({ ...header, alg: 'HS256' })}.${p}.${s}`],
    ['typ JWT instead of at+jwt', `${encodeSegment({ ...header, typ: 'JWT' })}.${p}.${s}`],
    ['no kid', `${encodeSegment({ alg: header.alg, typ: header.typ })}.${p}.${s}`],
    ['an unknown kid', `${encodeSegment({ ...header, kid: 'not-a-key' })}.${p}.${s}`],
    ['a crit extension', `${encodeSegment({ ...header, crit: ['b64'], b64: false })}.${p}.${s}`],
    ['four segments', `${token}.${s}`],
    ['a payload that is not an object', `${h}.${encodeSegment([1])}.${s}`]
  ]
  for (const [what, value] of cases) t.strictSame(await v.verify(value), { active: false, reason: 'invalid' }, what)
  t.match(await v.verify(token), { active: true }, 'the genuine token is still accepted')

  // Expiry is refused as such only behind a good signature (as jwtVerify did): move the clock past exp.
  const fresh = await tokenFor(a.app, f.svc, { resource: f.resource, scope: 'read' })
  const forgedExpired = await new SignJWT(decodePayload(fresh)).setProtectedHeader(decodeHeader(fresh) as { alg: string }).sign(privateKey)
  const realNow = Date.now
  Date.now = () => realNow() + 3600_000
  try {
    t.strictSame(await v.verify(forgedExpired), { active: false, reason: 'invalid' }, 'expired and forged: invalid')
    t.strictSame(await v.verify(fresh), { active: false, reason: 'expired' }, 'expired, first sight: expired')
  } finally {
    Date.now = realNow
  }
  t.match(await v.verify(fresh), { active: true }, 'an expired answer does not poison the cache')
})

t.test('the token cache is bounded and keeps what is in use', async (t) => {
  const { TokenCache } = await import('../packages/verifier/src/token-cache.js')
  const entry = (n: number): any => ({ claims: { jti: String(n) }, scopes: new Set() })
  const cache = new TokenCache(100)
  cache.set('hot', entry(-1))
  let hotLost = 0
  let maxSize = 0
  for (let i = 0; i < 10_000; i++) {
    cache.set(`t${i}`, entry(i))
    if (i % 10 === 0 && cache.get('hot') === undefined) hotLost++
    maxSize = Math.max(maxSize, cache.size)
  }
  t.equal(hotLost, 0, 'a token used within the last 50 insertions stays (10,000 insertions)')
  t.ok(maxSize <= 100, `never above the cap (largest: ${maxSize})`)
  t.equal(cache.get('t0'), undefined, 'an old unused token is gone')
  t.equal(cache.get('t9999')?.claims.jti, '9999')
  cache.delete('t9999')
  t.equal(cache.get('t9999'), undefined)
  const off = new TokenCache(0)
  off.set('x', entry(0))
  off.offer('x', entry(0))
  off.offer('x', entry(0))
  t.equal(off.get('x'), undefined, 'cacheSize 0 caches nothing')
})

t.test('a verified token is kept from its second verification on', async (t) => {
  const { TokenCache } = await import('../packages/verifier/src/token-cache.js')
  const entry = (n: number): any => ({ claims: { jti: String(n) }, scopes: new Set() })
  const cache = new TokenCache(1000)
  const tokens = Array.from({ length: 400 }, (_, i) => `h.p.${i.toString(36).padStart(8, 'x')}`)
  for (const [i, token] of tokens.entries()) cache.offer(token, entry(i))
  t.equal(cache.size, 0, 'no token offered once is kept (400 tokens)')
  for (const [i, token] of tokens.entries()) cache.offer(token, entry(i))
  t.strictSame(tokens.filter((token, i) => cache.get(token)?.claims.jti !== String(i)), [], 'every token offered twice is kept (400 tokens)')
})
