// The verifier's MCP kit on fastify (docs/reference/mcp.md), with a verifier whose answers the test chooses: the RFC 9728
// route, and the preHandler's statuses and challenges for each refusal.
import t from '../support/tap.js'
import Fastify from 'fastify'
import { OAuthProtectedResourceMetadataSchema } from '@modelcontextprotocol/sdk/shared/auth.js'
import { mcpBearerAuth, protectedResourceMetadataRoute, protectedResourceMetadataUrl, unauthorizedChallenge, type AccessTokenClaims, type Verifier, type VerifyResult } from '../../packages/verifier/src/index.js'

const resource = 'https://mcp.example.com/mcp'
const PRM = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp'
const claims = { sub: 's', client_id: 'agent', scope: 'mcp:tools', aud: resource, exp: 2e9, iat: 1, jti: 'j', epoch: 1, iss: 'https://tally.example', entitlements: [] } as AccessTokenClaims
const answers: Record<string, VerifyResult> = {
  good: { active: true, claims },
  stale: { active: false, reason: 'stale' },
  scope: { active: false, reason: 'insufficient_scope' },
  old: { active: false, reason: 'feed_unavailable' }
}
const verifier: Verifier = { verify: async (token) => answers[token] ?? { active: false, reason: 'invalid' }, stalenessMs: 0, maxStalenessS: 2, close: async () => {} }

async function app (t: { teardown: (fn: () => unknown) => void }) {
  const server = Fastify()
  t.teardown(async () => { await server.close() })
  await server.register(protectedResourceMetadataRoute, { resource, authorizationServers: ['https://tally.example'], scopesSupported: ['mcp:tools'] })
  server.post('/mcp', { preHandler: mcpBearerAuth(verifier, { resource, scopes: ['mcp:tools'] }) }, async () => ({ ok: true }))
  return server
}

t.test('the metadata route serves an RFC 9728 document the SDK accepts', async (t) => {
  const server = await app(t)
  const res = await server.inject({ url: '/.well-known/oauth-protected-resource/mcp' })
  const body = res.json()
  t.strictSame([res.statusCode, body, OAuthProtectedResourceMetadataSchema.safeParse(body).success, protectedResourceMetadataUrl(resource)],
    [200, { resource, authorization_servers: ['https://tally.example'], scopes_supported: ['mcp:tools'], bearer_methods_supported: ['header'] }, true, PRM])
})

t.test('mcpBearerAuth: statuses, bodies and challenges', async (t) => {
  const server = await app(t)
  const call = async (token?: string) => {
    const res = await server.inject({ method: 'POST', url: '/mcp', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
    return [res.statusCode, res.headers['www-authenticate'] ?? res.headers['retry-after'], res.json()]
  }
  t.strictSame(await Promise.all([call(), call('good'), call('stale'), call('scope'), call('old'), call('bogus')]), [
    [401, `Bearer scope="mcp:tools", resource_metadata="${PRM}"`, { error: 'invalid_token', error_description: 'a bearer token is required' }],
    [200, undefined, { ok: true }],
    [401, `Bearer error="invalid_token", error_description="stale", scope="mcp:tools", resource_metadata="${PRM}"`, { error: 'invalid_token', error_description: 'stale' }],
    [403, `Bearer error="insufficient_scope", error_description="the request requires scope mcp:tools", scope="mcp:tools", resource_metadata="${PRM}"`, { error: 'insufficient_scope', error_description: 'the request requires scope mcp:tools' }],
    [503, '1', { error: 'temporarily_unavailable', error_description: 'feed_unavailable' }],
    [401, `Bearer error="invalid_token", error_description="invalid", scope="mcp:tools", resource_metadata="${PRM}"`, { error: 'invalid_token', error_description: 'invalid' }]
  ])
})

t.test('challenge values are quoted strings: quotes and backslashes escaped, control characters dropped', async (t) => {
  t.equal(unauthorizedChallenge({ resourceMetadataUrl: 'https://x/"a\\b\r\n' }), 'Bearer resource_metadata="https://x/\\"a\\\\b"')
})
