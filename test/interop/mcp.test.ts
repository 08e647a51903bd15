// The official MCP SDK against Tally and the example MCP server (docs/reference/mcp.md), on real ports: discovery from
// the MCP server's 401 through RFC 9728 and RFC 8414 metadata to /token with `resource`, for a secret and
// for private_key_jwt; a tool call; revoke-sessions refusing the agent's same token within a second;
// 403 insufficient_scope with the challenge.
import type { Test } from 'tap'
import t from '../support/tap.js'
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose'
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js'
import type { OAuthTokenVerifier } from '@modelcontextprotocol/sdk/server/auth/provider.js'
import { adminCall, adminToken, freePort, requestToken, uniqueId } from '../helper.js'
import { createClient, expectStatus } from '../support/admin.js'
import { startInstance } from '../support/instances.js'
import { waitFor } from '../support/wait.js'
import { startMcpServer } from '../../examples/mcp-server/mcp-server.js'
import { connectAgent, providerFor } from '../../examples/mcp-server/agent.js'
import { createMcpTokenVerifier, type Verifier } from '../../packages/verifier/src/index.js'

const root = t
const SCOPE = 'mcp:tools'

async function setup (t: Test) {
  const tallyPort = await freePort()
  const issuer = `http://127.0.0.1:${tallyPort}`
  const tally = await startInstance(root, t, { port: tallyPort, overrides: { ISSUER: issuer } })
  const admin = await adminToken(tally.app)
  const mcpPort = await freePort()
  const resource = `http://127.0.0.1:${mcpPort}/mcp`
  const rs = await createClient(tally.app, admin, { kind: 'resource_server', prefix: 'mcp-rs' })
  expectStatus(await adminCall(tally.app, admin, 'POST', '/admin/resources', { identifier: resource, scopes: [SCOPE, 'mcp:read'], introspectors: [rs.clientId] }))
  const mcp = await startMcpServer({ tallyIssuer: issuer, resource, clientId: rs.clientId, clientSecret: rs.secret, port: mcpPort, scope: SCOPE })
  tally.onClosed(mcp.close)
  const agent = async (scopes: string[]) => {
    const who = await createClient(tally.app, admin, { kind: 'agent', prefix: 'agent' })
    expectStatus(await adminCall(tally.app, admin, 'POST', `/admin/identities/${who.id}/entitlements`, { resource, scopes }))
    return who
  }
  return { tally, issuer, admin, resource, mcp, agent }
}

const rpc = async (url: string, token: string | undefined): Promise<Response> => await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token !== undefined && { authorization: `Bearer ${token}` }) },
  body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} })
})

t.test('the MCP server publishes RFC 9728 metadata and challenges with resource_metadata', async (t) => {
  const { mcp, issuer, resource } = await setup(t)
  const prmUrl = `${new URL(resource).origin}/.well-known/oauth-protected-resource/mcp`
  const prm = await fetch(prmUrl)
  t.strictSame([prm.status, await prm.json()], [200, { resource, authorization_servers: [issuer], scopes_supported: [SCOPE], bearer_methods_supported: ['header'], resource_name: 'Tally example MCP server' }])
  const res = await rpc(mcp.url, undefined)
  t.strictSame([res.status, res.headers.get('www-authenticate')],
    [401, `Bearer error="invalid_token", error_description="Missing Authorization header", scope="${SCOPE}", resource_metadata="${prmUrl}"`])
})

t.test('an unmodified SDK client with a secret discovers Tally, gets a token for the resource, calls a tool; revoke-sessions refuses its token within a second', async (t) => {
  const { tally, issuer, admin, resource, mcp, agent } = await setup(t)
  const who = await agent([SCOPE])
  const provider = providerFor({ clientId: who.clientId, clientSecret: who.secret }, issuer)
  const client = await connectAgent(mcp.url, provider)
  t.teardown(async () => { await client.close() })
  const result = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } })
  t.strictSame(result.content, [{ type: 'text', text: '5' }], 'the tool answers')
  const whoami = await client.callTool({ name: 'whoami', arguments: {} }) as { content: Array<{ text: string }> }
  t.strictSame(JSON.parse(whoami.content[0]?.text as string), { client_id: who.clientId, scopes: [SCOPE], sub: who.id, entitlements: [{ resource, scopes: [SCOPE] }] },
    'AuthInfo carries the client, its scopes and Tally\'s claims')

  const token = (await provider.tokens())?.access_token as string
  t.equal((await rpc(mcp.url, token)).status, 200, 'the token works before the revocation')
  expectStatus(await adminCall(tally.app, admin, 'POST', `/admin/identities/${who.id}/revoke-sessions`, {}), 200)
  const started = Date.now()
  await waitFor(async () => (await rpc(mcp.url, token)).status === 401, { what: 'the MCP server to refuse the revoked token', timeoutMs: 1000 })
  const elapsed = Date.now() - started
  t.ok(elapsed < 1000, `refused within a second (${elapsed} ms)`)
  const refused = await rpc(mcp.url, token)
  t.match(refused.headers.get('www-authenticate'), /^Bearer error="invalid_token", error_description="stale: .*", resource_metadata="/, 'as a stale token, with the challenge')
  const again = await client.callTool({ name: 'add', arguments: { a: 1, b: 1 } })
  t.strictSame(again.content, [{ type: 'text', text: '2' }], 'the SDK gets a fresh token by itself and goes on')
  t.not((await provider.tokens())?.access_token, token, 'with a new token')
})

t.test('an unmodified SDK client with private_key_jwt gets a token and calls a tool', async (t) => {
  const { tally, issuer, admin, mcp, agent } = await setup(t)
  const who = await agent([SCOPE])
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
  expectStatus(await adminCall(tally.app, admin, 'POST', `/admin/identities/${who.id}/keys`, { jwk: { ...await exportJWK(publicKey), kid: uniqueId('k'), alg: 'ES256' } }))
  const provider: OAuthClientProvider = providerFor({ clientId: who.clientId, privateKeyPem: await exportPKCS8(privateKey) }, issuer)
  const client = await connectAgent(mcp.url, provider)
  t.teardown(async () => { await client.close() })
  const tools = (await client.listTools()).tools.map((tool) => tool.name).sort()
  t.strictSame(tools, ['add', 'whoami'])
  t.strictSame((await client.callTool({ name: 'add', arguments: { a: 40, b: 2 } })).content, [{ type: 'text', text: '42' }])
})

t.test('a token without the required scope gets 403 insufficient_scope with the challenge', async (t) => {
  const { tally, resource, mcp, agent } = await setup(t)
  const who = await agent(['mcp:read'])
  const res = await requestToken(tally.app, who.clientId, who.secret, { resource: `${resource.toUpperCase().replace('/MCP', '/mcp')}` })
  t.equal(res.statusCode, 200, 'an equivalent spelling of the resource gets a token')
  const answer = await rpc(mcp.url, res.json().access_token)
  t.strictSame([answer.status, answer.headers.get('www-authenticate'), await answer.json()], [403,
    `Bearer error="insufficient_scope", error_description="Insufficient scope", scope="${SCOPE}", resource_metadata="${new URL(resource).origin}/.well-known/oauth-protected-resource/mcp"`,
    { error: 'insufficient_scope', error_description: 'Insufficient scope' }])
})

t.test('the adapter maps every refusal to the SDK error requireBearerAuth expects', async (t) => {
  const { InvalidTokenError, InsufficientScopeError, ServerError } = await import('@modelcontextprotocol/sdk/server/auth/errors.js')
  const answers: Record<string, { active: false, reason: any }> = {
    stale: { active: false, reason: 'stale' },
    revoked: { active: false, reason: 'revoked' },
    expired: { active: false, reason: 'expired' },
    invalid: { active: false, reason: 'invalid' },
    insufficient_scope: { active: false, reason: 'insufficient_scope' },
    feed_unavailable: { active: false, reason: 'feed_unavailable' }
  }
  const fake: Verifier = { verify: async (token) => answers[token] as any, stalenessMs: 0, maxStalenessS: 2, close: async () => {} }
  const adapter: OAuthTokenVerifier = await createMcpTokenVerifier(fake, { scopes: [SCOPE] })
  const classes = []
  for (const token of Object.keys(answers)) {
    const err = await adapter.verifyAccessToken(token).then(() => undefined, (e: unknown) => e)
    classes.push([token, err instanceof InvalidTokenError ? 'InvalidTokenError' : err instanceof InsufficientScopeError ? 'InsufficientScopeError' : err instanceof ServerError ? 'ServerError' : String(err)])
  }
  t.strictSame(classes, [['stale', 'InvalidTokenError'], ['revoked', 'InvalidTokenError'], ['expired', 'InvalidTokenError'], ['invalid', 'InvalidTokenError'],
    ['insufficient_scope', 'InsufficientScopeError'], ['feed_unavailable', 'ServerError']])
})
