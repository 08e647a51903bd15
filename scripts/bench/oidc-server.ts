// The peer under test: node-oidc-provider with its default in-memory adapter (its best case: no I/O),
// client_credentials only, RFC 8707 resource indicators. Two resources: one gets RFC 9068 JWT access tokens
// signed ES256, the other opaque tokens, which are the ones its RFC 7662 introspection can look up.
// Run as a child process by index.ts: PORT, ISSUER, BENCH_CLIENTS; prints "ready" on stdout.
import { generateKeyPairSync } from 'node:crypto'
import { createServer } from 'node:http'
import Provider, { errors } from 'oidc-provider'
import { clientSecret, JWT_RESOURCE, OPAQUE_RESOURCE, RS_CLIENT_ID, RS_CLIENT_SECRET, SCOPES } from './fixtures.js'

const port = Number(process.env.PORT)
const issuer = process.env.ISSUER as string
const clientCount = Number(process.env.BENCH_CLIENTS ?? 1000)

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' }

const clients: Array<Record<string, unknown>> = []
for (let i = 0; i < clientCount; i++) {
  clients.push({
    client_id: `bench-client-${i}`,
    client_secret: clientSecret(i),
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: SCOPES.join(' ')
  })
}
clients.push({
  client_id: RS_CLIENT_ID,
  client_secret: RS_CLIENT_SECRET,
  grant_types: [],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic'
})

const provider = new Provider(issuer, {
  clients,
  // Its only key is ES256, so the (unused) ID token default must match it.
  clientDefaults: { id_token_signed_response_alg: 'ES256', grant_types: ['client_credentials'], response_types: [] },
  jwks: { keys: [signingJwk] },
  scopes: SCOPES,
  routes: { token: '/token', introspection: '/introspect' },
  cookies: { keys: ['bench-cookie-key-not-secret'] },
  ttl: { ClientCredentials: 300 }, // 5 minutes in seconds, like Tally's default
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true, allowedPolicy: async () => true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string) => oneOf ?? JWT_RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx: unknown, resource: string) => {
        if (resource === JWT_RESOURCE) {
          return { scope: SCOPES.join(' '), audience: resource, accessTokenTTL: 300, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }
        }
        if (resource === OPAQUE_RESOURCE) {
          return { scope: SCOPES.join(' '), audience: resource, accessTokenTTL: 300, accessTokenFormat: 'opaque' }
        }
        throw new errors.InvalidTarget()
      }
    }
  }
})

const server = createServer(provider.callback())
server.keepAliveTimeout = 60_000
server.listen(port, '127.0.0.1', () => { process.stdout.write('ready\n') })
process.on('SIGTERM', () => { server.close(); server.closeAllConnections(); process.exit(0) })
