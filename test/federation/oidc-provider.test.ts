// Real third-party software as the platform: node-oidc-provider on 127.0.0.1, its OIDC discovery, its
// JWKS and its RFC 9068 JWT access tokens (client_credentials with a resource indicator naming Tally),
// presented to Tally in both RFC 7523 forms. Tally finds its keys by discovery alone.
import t from '../support/tap.js'
import { createServer } from 'node:http'
import { generateKeyPairSync } from 'node:crypto'
import Provider from 'oidc-provider'
import { adminToken, ADMIN_SECRET, basic, build, decodeHeader, decodePayload, form, FORM_TYPE, ISSUER } from '../helper.js'
import { createResource } from '../support/admin.js'
import { CLIENT_ASSERTION_TYPE, introspection } from '../support/oauth.js'
import { createTrust, createWorkload, jwtBearer } from './fixture.js'

const root = t
const PLATFORM_CLIENT = 'ci-runner'
const PLATFORM_SECRET = 'ci-runner-secret-for-tests-only'

async function startProvider (t: { teardown: (fn: () => unknown) => void }): Promise<{ issuer: string, token: (resource: string) => Promise<string> }> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const provider = new Provider(issuer, {
    clients: [{
      client_id: PLATFORM_CLIENT,
      client_secret: PLATFORM_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'deploy'
    }],
    clientDefaults: { id_token_signed_response_alg: 'ES256', grant_types: ['client_credentials'], response_types: [] },
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'platform-es256', alg: 'ES256', use: 'sig' }] },
    scopes: ['deploy'],
    cookies: { keys: ['test-cookie-key-not-secret'] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => ISSUER,
        useGrantedResource: async () => true,
        // Tally's ISSUER is the resource: the platform's tokens are then RFC 9068 JWTs with aud = ISSUER.
        getResourceServerInfo: async (_ctx: unknown, resource: string) => ({
          scope: 'deploy', audience: resource, accessTokenTTL: 300, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } }
        })
      }
    }
  })
  server.on('request', provider.callback())
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const token = async (resource: string): Promise<string> => {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: basic(PLATFORM_CLIENT, PLATFORM_SECRET), 'content-type': FORM_TYPE },
      body: form({ grant_type: 'client_credentials', scope: 'deploy', resource })
    })
    const body = await res.json() as { access_token?: string }
    if (res.status !== 200 || body.access_token === undefined) throw new Error(`oidc-provider token: ${res.status} ${JSON.stringify(body)}`)
    return body.access_token
  }
  return { issuer, token }
}

t.test('node-oidc-provider access tokens as jwt-bearer grants and as client assertions', async (t) => {
  const app = await build(root)
  const admin = await adminToken(app)
  const platform = await startProvider(t)
  // No jwks_uri: Tally discovers it from the provider's /.well-known/openid-configuration.
  await createTrust(app, admin, { issuer: platform.issuer, claims: { platform_client: 'client_id', scope: 'scope' }, name: 'node-oidc-provider' })
  const { identifier: api } = await createResource(app, admin, { scopes: ['deploy', 'admin'] })
  const wl = await createWorkload(app, admin, { issuer: platform.issuer, subject: PLATFORM_CLIENT, match: { platform_client: PLATFORM_CLIENT } }, [
    { resource: api, scopes: ['deploy'], conditions: { scope: 'deploy' } },
    { resource: api, scopes: ['admin'], conditions: { scope: 'admin' } }
  ])

  const assertion = await platform.token(ISSUER)
  t.equal(decodeHeader(assertion).typ, 'at+jwt', 'the provider issues RFC 9068 JWT access tokens')
  t.equal(decodePayload(assertion).aud, ISSUER)

  const res = await jwtBearer(app, assertion, { resource: api })
  t.equal(res.statusCode, 200, res.body)
  const claims = decodePayload(res.json().access_token)
  t.equal(claims.sub, wl.id)
  t.equal(claims.scope, 'deploy')
  t.strictSame(claims.ctx, { platform_client: PLATFORM_CLIENT, scope: 'deploy' })
  t.ok(claims.exp <= decodePayload(assertion).exp, 'never outlives the provider token')
  t.equal((await introspection(app, basic('admin', ADMIN_SECRET), res.json().access_token)).active, true)

  const asClient = await app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': FORM_TYPE },
    payload: form({ grant_type: 'client_credentials', client_id: wl.clientId, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion, resource: api })
  })
  t.equal(asClient.statusCode, 200, 'the same token as a client assertion')

  // A provider token for another audience is refused.
  const elsewhere = await jwtBearer(app, await platform.token('https://other.example'))
  t.strictSame([elsewhere.statusCode, elsewhere.json()], [400, { error: 'invalid_grant', error_description: 'assertion aud does not contain the trust audience' }])
})
