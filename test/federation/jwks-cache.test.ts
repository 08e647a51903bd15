// Fetching platforms' keys (docs/reference/federation.md): discovery (OIDC, then RFC 8414), caching by HTTP headers within
// bounds, single-flight, rate-limited refetch on an unknown kid, no redirects, bounded size and time, and
// 503 + Retry-After when the keys are needed and cannot be had. Against a real HTTP issuer on 127.0.0.1.
import t from '../support/tap.js'
import { JwksCache } from '../../server/federation/jwks-cache.js'
import { cacheLifetimeS, fetchableUrl, fetchJson } from '../../server/federation/safe-fetch.js'
import { discoveryUrls } from '../../server/federation/discovery.js'
import { AssertionRejected } from '../../server/federation/errors.js'
import { TemporarilyUnavailable } from '../../server/errors.js'
import { adminToken, build, form, FORM_TYPE, freePort, ISSUER } from '../helper.js'
import { CLIENT_ASSERTION_TYPE } from '../support/oauth.js'
import { createTrust, createWorkload, jwtBearer } from './fixture.js'
import { kubernetesClaims, startLocalIssuer } from './local-issuer.js'

const root = t
const source = (issuer: string, jwksUri: string | null = null): { issuer: string, jwks_uri: string | null } => ({ issuer, jwks_uri: jwksUri })

t.test('keys found through OIDC discovery, then cached and shared', async (t) => {
  const k8s = await startLocalIssuer(t)
  const cache = new JwksCache()
  const keys = await Promise.all(Array.from({ length: 20 }, async () => await cache.keysFor(source(k8s.issuer), 'RS256', k8s.kid())))
  t.equal(keys.length, 20)
  t.equal(k8s.hits.get('/.well-known/openid-configuration'), 1, 'one discovery for 20 concurrent requests')
  t.equal(k8s.hits.get('/jwks'), 1, 'one JWKS fetch for 20 concurrent requests (single-flight)')
  await cache.keysFor(source(k8s.issuer), 'RS256', k8s.kid())
  t.equal(k8s.hits.get('/jwks'), 1, 'then served from the cache')
})

t.test('RFC 8414 metadata when there is no OIDC discovery document', async (t) => {
  const as = await startLocalIssuer(t, { discovery: 'oauth', alg: 'ES256', path: '/tenant' })
  t.strictSame(discoveryUrls(as.issuer), [`${as.issuer}/.well-known/openid-configuration`, `${as.origin}/.well-known/oauth-authorization-server/tenant`])
  const keys = await new JwksCache().keysFor(source(as.issuer), 'ES256', as.kid())
  t.equal(keys.length, 1)
  t.equal(as.hits.get('/tenant/.well-known/openid-configuration'), 1)
  t.equal(as.hits.get('/.well-known/oauth-authorization-server/tenant'), 1)
})

t.test('an unknown kid refetches, at most once per cooldown', async (t) => {
  const k8s = await startLocalIssuer(t)
  const cache = new JwksCache({ refetchCooldownS: 3600 })
  const jwks = source(k8s.issuer, k8s.jwksUri)
  await cache.keysFor(jwks, 'RS256', k8s.kid())
  await k8s.rotate()
  // First unknown kid: cooldown has not passed since the first fetch, so no refetch yet.
  await t.rejects(cache.keysFor(jwks, 'RS256', k8s.kid()), AssertionRejected)
  t.equal(k8s.hits.get('/jwks'), 1, 'no refetch within the cooldown')
  const eager = new JwksCache({ refetchCooldownS: 0 })
  await eager.keysFor(jwks, 'RS256', 'old-kid-that-is-not-there').catch(() => {})
  const before = k8s.hits.get('/jwks') ?? 0
  await k8s.rotate()
  t.equal((await eager.keysFor(jwks, 'RS256', k8s.kid())).length, 1, 'a rotated key is found by a refetch')
  t.equal(k8s.hits.get('/jwks'), before + 1, 'exactly one refetch')
})

t.test('Cache-Control is honoured within bounds', async (t) => {
  const headers = (h: Record<string, string>): Headers => new Headers(h)
  t.strictSame([
    cacheLifetimeS(headers({ 'cache-control': 'public, max-age=600' })),
    cacheLifetimeS(headers({ 'cache-control': 'no-cache' })),
    cacheLifetimeS(headers({ expires: new Date(Date.now() + 120_000).toUTCString(), date: new Date().toUTCString() })),
    cacheLifetimeS(headers({ expires: 'garbage' })),
    cacheLifetimeS(headers({}))
  ], [600, 0, 120, 0, undefined])

  const noCache = await startLocalIssuer(t, { cacheControl: 'no-store' })
  const clamped = new JwksCache({ minTtlS: 60, refetchCooldownS: 0 })
  await clamped.keysFor(source(noCache.issuer, noCache.jwksUri), 'RS256', noCache.kid())
  await clamped.keysFor(source(noCache.issuer, noCache.jwksUri), 'RS256', noCache.kid())
  t.equal(noCache.hits.get('/jwks'), 1, 'no-store is raised to the minimum lifetime')
  const unclamped = new JwksCache({ minTtlS: 0, refetchCooldownS: 0 })
  await unclamped.keysFor(source(noCache.issuer, noCache.jwksUri), 'RS256', noCache.kid())
  await unclamped.keysFor(source(noCache.issuer, noCache.jwksUri), 'RS256', noCache.kid())
  t.equal(noCache.hits.get('/jwks'), 3, 'with no minimum, no-store means a fetch each time')
})

t.test('only the configured or discovered URL: no redirects, bounded size and time, https', async (t) => {
  const k8s = await startLocalIssuer(t)
  k8s.override('/jwks', (res) => { res.writeHead(302, { location: '/elsewhere' }); res.end() })
  await t.rejects(new JwksCache().keysFor(source(k8s.issuer, k8s.jwksUri), 'RS256', k8s.kid()), TemporarilyUnavailable, 'a redirect is a failure')
  t.equal(k8s.hits.get('/elsewhere'), undefined, 'the redirect target is never fetched')

  k8s.override('/jwks', (res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ keys: [], pad: 'x'.repeat(300 * 1024) })) })
  await t.rejects(fetchJson(k8s.jwksUri), /larger than/, 'a body over 256 KiB is refused')

  k8s.override('/jwks', () => { /* never answers */ })
  const started = Date.now()
  await t.rejects(fetchJson(k8s.jwksUri, { timeoutMs: 200, maxBytes: 1024 }), /abort|timeout/i)
  t.ok(Date.now() - started < 2000, 'the wait is bounded')

  t.strictSame(['https://a.example/jwks', 'http://127.0.0.1:1/jwks', 'http://localhost/jwks', 'http://a.example/jwks', 'https://u:p@a.example/', 'ftp://a.example/', 'not a url']
    .map((u) => fetchableUrl(u) !== undefined), [true, true, true, false, false, false, false], 'https, or http on loopback only')
})

t.test('known keys outlive a platform outage for a bounded time only', async (t) => {
  const k8s = await startLocalIssuer(t, { cacheControl: 'max-age=0' })
  const jwks = source(k8s.issuer, k8s.jwksUri)
  const tolerant = new JwksCache({ minTtlS: 0, refetchCooldownS: 0, staleIfErrorS: 3600 })
  const strict = new JwksCache({ minTtlS: 0, refetchCooldownS: 0, staleIfErrorS: 0 })
  await tolerant.keysFor(jwks, 'RS256', k8s.kid())
  await strict.keysFor(jwks, 'RS256', k8s.kid())
  k8s.override('/jwks', (res) => { res.writeHead(500); res.end() })
  t.equal((await tolerant.keysFor(jwks, 'RS256', k8s.kid())).length, 1, 'stale keys while the platform is down')
  await t.rejects(strict.keysFor(jwks, 'RS256', k8s.kid()), TemporarilyUnavailable, 'past the bound: unavailable')
})

t.test('keys needed and not to be had: 503 temporarily_unavailable with Retry-After', async (t) => {
  const app = await build(root)
  const admin = await adminToken(app)
  const k8s = await startLocalIssuer(t)
  const deadPort = await freePort()
  await createTrust(app, admin, { issuer: k8s.issuer, jwks_uri: `http://127.0.0.1:${deadPort}/jwks` })
  await createWorkload(app, admin, { issuer: k8s.issuer, subject: 'system:serviceaccount:a:b' })
  const res = await jwtBearer(app, await k8s.sign(kubernetesClaims(k8s.issuer, ISSUER, 'a', 'b')))
  t.equal(res.statusCode, 503)
  t.strictSame(res.json(), { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable' })
  t.match(res.headers['retry-after'], /^\d+$/)
  // A platform that cannot be reached is not hammered: within the cooldown no new connection is tried.
  const again = await jwtBearer(app, await k8s.sign(kubernetesClaims(k8s.issuer, ISSUER, 'a', 'b')))
  t.equal(again.statusCode, 503)

  // The same through client authentication: a 503, not an invalid_client.
  const asClient = await app.inject({ method: 'POST', url: '/token', headers: { 'content-type': FORM_TYPE }, payload: form({
    grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await k8s.sign(kubernetesClaims(k8s.issuer, ISSUER, 'a', 'b'))
  }) })
  t.strictSame([asClient.statusCode, asClient.json().error], [503, 'temporarily_unavailable'])
})

t.test('a key that cannot verify the alg is skipped; with none left the assertion is rejected', async (t) => {
  const { generateKeyPairSync } = await import('node:crypto')
  const rsa = (bits: number): Record<string, unknown> => ({ ...generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ format: 'jwk' }), use: 'sig' })
  const weak = rsa(1024)
  const strong = rsa(2048)
  const k8s = await startLocalIssuer(t)
  let keys = [weak, strong]
  k8s.override('/jwks', (res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ keys })) })
  const found = await new JwksCache().keysFor(source(k8s.issuer, k8s.jwksUri), 'RS256', undefined)
  t.strictSame(found.map((k) => k.asymmetricKeyDetails?.modulusLength), [2048], 'the 1024-bit key is skipped, the 2048-bit one kept')
  keys = [weak]
  await t.rejects(new JwksCache().keysFor(source(k8s.issuer, k8s.jwksUri), 'RS256', undefined), new AssertionRejected('no key of the trust jwks can verify the assertion alg'))
})
