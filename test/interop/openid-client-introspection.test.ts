// Interop: openid-client v6, unmodified, against Tally on a real port — discovery (RFC 8414),
// tokenIntrospection (RFC 7662) and tokenRevocation (RFC 7009) with client_secret_basic,
// client_secret_post and private_key_jwt. allowInsecureRequests only because the test speaks plain HTTP.
import t from '../support/tap.js'
import * as client from 'openid-client'
import { exportJWK, generateKeyPair } from 'jose'
import { adminCall, adminToken, build, decodePayload, freePort } from '../helper.js'
import { createClient, createResource, grant } from '../support/admin.js'
import { tokenFor } from '../support/oauth.js'


const port = await freePort()
const issuer = `http://127.0.0.1:${port}`
const app = await build(t, { ISSUER: issuer, PORT: String(port) })
await app.listen({ port, host: '127.0.0.1' })

const admin = await adminToken(app)
const rs = await createClient(app, admin, { kind: 'resource_server' })
const api = await createResource(app, admin, { scopes: ['read', 'write'], introspectors: [rs.clientId] })
const svc = await createClient(app, admin)
await grant(app, admin, svc.id, api.identifier, ['read', 'write'])

const options = { algorithm: 'oauth2' as const, execute: [client.allowInsecureRequests] }
const discover = async (clientId: string, auth: client.ClientAuth): Promise<client.Configuration> =>
  await client.discovery(new URL(issuer), clientId, undefined, auth, options)

const rsBasic = await discover(rs.clientId, client.ClientSecretBasic(rs.secret))
const svcPost = await discover(svc.clientId, client.ClientSecretPost(svc.secret))

t.test('discovery: the issuer is the URL and the endpoints are listed', async (t) => {
  const meta = rsBasic.serverMetadata()
  t.equal(meta.issuer, issuer)
  t.equal(meta.introspection_endpoint, `${issuer}/introspect`)
  t.equal(meta.revocation_endpoint, `${issuer}/revoke`)
  t.equal(meta.token_endpoint, `${issuer}/token`)
})

t.test('clientCredentialsGrant, then tokenIntrospection of the token', async (t) => {
  const grantRes = await client.clientCredentialsGrant(svcPost, { resource: api.identifier })
  t.equal(grantRes.token_type.toLowerCase(), 'bearer')
  const token = grantRes.access_token
  const res = await client.tokenIntrospection(rsBasic, token)
  t.equal(res.active, true)
  t.equal(res.sub, svc.id)
  t.equal(res.client_id, svc.clientId)
  t.equal(res.aud, api.identifier)
  t.equal(res.scope, 'read write')
  t.equal(res.jti, decodePayload(token).jti)
  t.equal(res.iss, issuer)
  t.equal(res.token_type, 'Bearer')
  t.equal(res.epoch, 1)
})

t.test('tokenIntrospection with a token_type_hint and of an inactive token', async (t) => {
  const token = await tokenFor(app, svc, { resource: api.identifier })
  t.equal((await client.tokenIntrospection(rsBasic, token, { token_type_hint: 'access_token' })).active, true)
  t.strictSame(await client.tokenIntrospection(rsBasic, 'not-a-token'), { active: false })
})

t.test('tokenRevocation by the token\'s own client (client_secret_post), then inactive', async (t) => {
  const token = await tokenFor(app, svc, { resource: api.identifier })
  await client.tokenRevocation(svcPost, token)
  t.strictSame(await client.tokenIntrospection(rsBasic, token), { active: false })
  await client.tokenRevocation(svcPost, token, { token_type_hint: 'access_token' })
  await client.tokenRevocation(svcPost, 'not-a-token')
  t.pass('revoking again, or an unknown token, resolves')
})

t.test('errors surface as openid-client errors with the RFC codes', async (t) => {
  const token = await tokenFor(app, svc, { resource: api.identifier })
  await t.rejects(client.tokenRevocation(rsBasic, token), { error: 'unauthorized_client', status: 400 } as object as Error, 'another client\'s token')
  t.equal((await client.tokenIntrospection(rsBasic, token)).active, true, 'still active')
  const wrong = await discover(rs.clientId, client.ClientSecretBasic(rs.secret + 'x'))
  // A 401 carrying WWW-Authenticate is reported by openid-client as a challenge error.
  const err = await client.tokenIntrospection(wrong, token).then(() => undefined, (e: unknown) => e) as client.WWWAuthenticateChallengeError | undefined
  t.ok(err instanceof client.WWWAuthenticateChallengeError, 'a wrong secret is refused with a challenge')
  t.equal(err?.status, 401)
  t.match(err?.cause, [{ scheme: 'basic', parameters: { realm: issuer } }], 'Basic realm = the issuer')
  t.match(await err?.response.json(), { error: 'invalid_client' })
})

t.test('private_key_jwt through openid-client', async (t) => {
  const workload = await createClient(app, admin, { kind: 'workload', prefix: 'pkj', secret: false })
  await grant(app, admin, workload.id, api.identifier, ['read'])
  const patch = await adminCall(app, admin, 'PATCH', `/admin/resources/${api.id}`, { introspectors: [rs.clientId, workload.clientId] })
  t.equal(patch.statusCode, 200)
  for (const [alg, gen] of [['ES256', async () => await generateKeyPair('ES256')], ['EdDSA', async () => await generateKeyPair('EdDSA', { crv: 'Ed25519' })]] as const) {
    const { privateKey, publicKey } = await gen()
    const kid = `${alg}-key`
    const reg = await adminCall(app, admin, 'POST', `/admin/identities/${workload.id}/keys`, { jwk: { ...(await exportJWK(publicKey)), kid } })
    t.equal(reg.statusCode, 201, `${alg} key registered`)
    const config = await discover(workload.clientId, client.PrivateKeyJwt({ key: privateKey, kid }))
    const grantRes = await client.clientCredentialsGrant(config, { resource: api.identifier })
    const token = grantRes.access_token
    const res = await client.tokenIntrospection(config, token)
    t.equal(res.active, true, `${alg}: introspection`)
    t.equal(res.client_id, workload.clientId)
    await client.tokenRevocation(config, token)
    t.strictSame(await client.tokenIntrospection(config, token), { active: false }, `${alg}: revoked`)
  }
})
