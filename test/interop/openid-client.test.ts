// An independent client on a real socket: openid-client v6 does RFC 8414 discovery and the client
// credentials grant (client_secret_basic and client_secret_post), and jose verifies the token against
// the published JWKS with typ at+jwt.
import t from '../support/tap.js'
import * as client from 'openid-client'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { adminToken, build, freePort, uniqueId } from '../helper.js'
import { createClient, createResource } from '../support/admin.js'


const port = await freePort()
const issuer = `http://127.0.0.1:${port}`
const app = await build(t, { ISSUER: issuer, PORT: String(port), HOST: '127.0.0.1' })
await app.listen({ port, host: '127.0.0.1' })
const admin = await adminToken(app)
const { identifier: resource } = await createResource(app, admin, { scopes: ['read', 'write'] })
const { identifier: other } = await createResource(app, admin, { scopes: ['read'] })

async function discover (clientId: string, auth: client.ClientAuth): Promise<client.Configuration> {
  return await client.discovery(new URL(issuer), clientId, undefined, auth, { execute: [client.allowInsecureRequests], algorithm: 'oauth2' })
}

t.test('RFC 8414 discovery + client_credentials with client_secret_basic; jose verifies the token', async (t) => {
  const svc = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read', 'write'] }, { resource: other, scopes: ['read'] }] })
  const config = await discover(svc.clientId, client.ClientSecretBasic(svc.secret))
  const metadata = config.serverMetadata()
  t.equal(metadata.issuer, issuer)
  t.equal(metadata.token_endpoint, `${issuer}/token`)
  t.equal(metadata.jwks_uri, `${issuer}/.well-known/jwks.json`)
  t.ok(metadata.grant_types_supported?.includes('client_credentials'), 'client_credentials advertised')
  t.ok(metadata.token_endpoint_auth_methods_supported?.includes('client_secret_basic'), 'client_secret_basic advertised')

  const tokens = await client.clientCredentialsGrant(config, { scope: 'read', resource })
  t.equal(tokens.token_type.toLowerCase(), 'bearer')
  t.equal(tokens.scope, 'read')
  t.equal(tokens.expires_in, 300)
  t.equal(tokens.refresh_token, undefined, 'no refresh token')

  const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri as string))
  const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, { issuer, audience: resource, typ: 'at+jwt', algorithms: ['ES256'] })
  t.equal(protectedHeader.typ, 'at+jwt')
  t.equal(payload.sub, svc.id)
  t.equal(payload.client_id, svc.clientId)
  t.equal(payload.scope, 'read')
  t.equal(payload.epoch, 1)
  t.strictSame(payload.entitlements, [{ resource, scopes: ['read'] }])

  await t.rejects(jwtVerify(tokens.access_token, jwks, { issuer, audience: other, typ: 'at+jwt' }), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' }, 'another audience is refused')
  await t.rejects(jwtVerify(tokens.access_token, jwks, { issuer: 'http://localhost:8080', audience: resource }), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' }, 'another issuer is refused')

  const several = client.clientCredentialsGrant(config, {})
  await t.rejects(several, { error: 'invalid_target' } as object as Error, 'several entitled resources and none requested → invalid_target through the client')
})

t.test('client_secret_post through openid-client', async (t) => {
  const svc = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read', 'write'] }] })
  const config = await discover(svc.clientId, client.ClientSecretPost(svc.secret))
  const tokens = await client.clientCredentialsGrant(config)
  t.equal(tokens.scope, 'read write', 'all entitled scopes without a scope parameter')
  const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`)), { issuer, audience: resource, typ: 'at+jwt' })
  t.equal(payload.sub, svc.id)
})

t.test('a client_id with ":" through openid-client\'s Basic encoding', async (t) => {
  const svc = await createClient(app, admin, { clientId: `urn:ci:${uniqueId('job')}`, entitlements: [{ resource, scopes: ['read'] }] })
  const config = await discover(svc.clientId, client.ClientSecretBasic(svc.secret))
  const tokens = await client.clientCredentialsGrant(config, { resource })
  t.equal((await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`)), { issuer, audience: resource, typ: 'at+jwt' })).payload.client_id, svc.clientId)
})

t.test('errors reach the client as RFC 6749 §5.2 bodies', async (t) => {
  const svc = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const wrong = await discover(svc.clientId, client.ClientSecretBasic('tly_wrong'))
  // A 401 with WWW-Authenticate surfaces as the challenge; the body is still the invalid_client error.
  const err = await client.clientCredentialsGrant(wrong, { resource }).then(() => undefined, (e: unknown) => e) as client.WWWAuthenticateChallengeError
  t.equal(err?.code, 'OAUTH_WWW_AUTHENTICATE_CHALLENGE', 'wrong secret → a challenge')
  t.equal(err.status, 401, 'wrong secret → 401')
  t.match(err.cause, [{ scheme: 'basic', parameters: { realm: issuer } }], 'Basic realm is the issuer')
  t.strictSame(await err.response.json(), { error: 'invalid_client', error_description: 'client authentication failed' }, 'wrong secret → invalid_client body')
  const right = await discover(svc.clientId, client.ClientSecretBasic(svc.secret))
  await t.rejects(client.clientCredentialsGrant(right, { resource, scope: 'write' }), { error: 'invalid_scope', status: 400 } as object as Error, 'scope not entitled → invalid_scope')

  // Over a real socket, a body over 64 KiB gets an answer the client can read (docs/reference/endpoints.md).
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from(`${svc.clientId}:${svc.secret}`).toString('base64') },
    body: 'grant_type=client_credentials&padding=' + 'a'.repeat(70 * 1024)
  })
  t.ok(res.status === 413 || res.status === 400, `oversized body: 413 or 400 (got ${res.status})`)
  t.strictSame(await res.json(), { error: 'invalid_request', error_description: 'the request body is too large' }, 'oversized body: readable invalid_request')
  t.equal(res.headers.get('cache-control'), 'no-store')
})
