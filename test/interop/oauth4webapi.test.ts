// oauth4webapi, unmodified, on a real socket (issue 10 item 6): RFC 8414 discovery, client_credentials with
// client_secret_basic and private_key_jwt, RFC 7009 revocation (it parses the `{}` body), and its
// validateJwtAccessToken (RFC 9068) as a resource server calls it. Beside it, a client that does not
// form-encode Basic credentials (authlib, Python requests) with a ":" in its client_id.
import t from '../support/tap.js'
import * as oauth from 'oauth4webapi'
import { exportJWK, generateKeyPair } from 'jose'
import { adminCall, adminToken, build, freePort, uniqueId } from '../helper.js'
import { createClient, createResource, expectStatus } from '../support/admin.js'

const port = await freePort()
const issuer = `http://127.0.0.1:${port}`
const app = await build(t, { ISSUER: issuer, PORT: String(port), HOST: '127.0.0.1' })
await app.listen({ port, host: '127.0.0.1' })
const admin = await adminToken(app)
const { identifier: resource } = await createResource(app, admin, { scopes: ['read', 'write'] })
const insecure = { [oauth.allowInsecureRequests]: true }

const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), { ...insecure, algorithm: 'oauth2' }))

async function validate (accessToken: string): Promise<oauth.JWTAccessTokenClaims> {
  const request = new Request(`${resource}/things`, { headers: { authorization: `Bearer ${accessToken}` } })
  return await oauth.validateJwtAccessToken(as, request, resource, insecure)
}

t.test('client_credentials with client_secret_basic; validateJwtAccessToken accepts the token', async (t) => {
  const svc = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const client: oauth.Client = { client_id: svc.clientId }
  const response = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(svc.secret), { resource, scope: 'read' }, insecure)
  const tokens = await oauth.processClientCredentialsResponse(as, client, response)
  t.equal(tokens.token_type, 'bearer')
  t.equal(tokens.scope, 'read')
  const claims = await validate(tokens.access_token)
  t.equal(claims.iss, issuer)
  t.equal(claims.sub, svc.id)
  t.equal(claims.client_id, svc.clientId)
  t.equal(claims.aud, resource)
  t.equal(claims.scope, 'read')

  const revoked = await oauth.revocationRequest(as, client, oauth.ClientSecretBasic(svc.secret), tokens.access_token, insecure)
  t.equal(revoked.status, 200)
  t.equal(await oauth.processRevocationResponse(revoked), undefined, 'the revocation response is accepted')
  await t.rejects(validate('not-a-token'), 'the resource server refuses garbage')
})

t.test('client_credentials with private_key_jwt (aud = issuer, oauth4webapi\'s default)', async (t) => {
  const identity = expectStatus(await adminCall(app, admin, 'POST', '/admin/identities', { client_id: uniqueId('wl'), kind: 'workload' }))
  expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${identity.id as string}/entitlements`, { resource, scopes: ['read', 'write'] }))
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const kid = uniqueId('k')
  expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${identity.id as string}/keys`, { jwk: { ...(await exportJWK(publicKey)), kid } }))
  const client: oauth.Client = { client_id: identity.client_id }
  const auth = oauth.PrivateKeyJwt({ key: privateKey, kid })
  const response = await oauth.clientCredentialsGrantRequest(as, client, auth, { resource }, insecure)
  const tokens = await oauth.processClientCredentialsResponse(as, client, response)
  t.equal(tokens.scope, 'read write')
  t.equal((await validate(tokens.access_token)).sub, identity.id)
})

t.test('a client that does not form-encode Basic credentials, with ":" in its client_id', async (t) => {
  const svc = await createClient(app, admin, { clientId: `urn:svc:${uniqueId('a')}`, entitlements: [{ resource, scopes: ['read'] }] })
  for (const [name, user] of [['raw', svc.clientId], ['form-encoded', encodeURIComponent(svc.clientId)]] as const) {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${user}:${svc.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials' })
    })
    t.equal(res.status, 200, `${name}: ${user}:<secret> authenticates`)
    t.equal((await validate(((await res.json()) as { access_token: string }).access_token)).client_id, svc.clientId, `${name}: the token names the client`)
  }
})
