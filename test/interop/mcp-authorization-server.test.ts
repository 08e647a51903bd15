// Tally as the MCP SDK sees it (docs/reference/mcp.md, endpoints.md): metadata its schema accepts, an authorization endpoint that
// only ever answers RFC 6749 errors, and resource identifiers matched under RFC 3986 equivalence.
import t from '../support/tap.js'
import type { InjectOptions } from 'fastify'
import { OAuthMetadataSchema } from '@modelcontextprotocol/sdk/shared/auth.js'
import { adminCall, adminToken, build, decodePayload, FORM_TYPE, ISSUER, requestToken, uniqueId } from '../helper.js'
import { createClient, expectStatus } from '../support/admin.js'

t.test('the SDK schema accepts the metadata, which claims no response type', async (t) => {
  const app = await build(t)
  const res = await app.inject({ url: '/.well-known/oauth-authorization-server' })
  const metadata = res.json()
  t.equal(OAuthMetadataSchema.safeParse(metadata).success, true, 'OAuthMetadataSchema parses it')
  t.strictSame([metadata.authorization_endpoint, metadata.response_types_supported], [`${ISSUER}/authorize`, []])
})

t.test('/authorize answers every request with unsupported_response_type, never a code or a redirect', async (t) => {
  const app = await build(t)
  const expected = { error: 'unsupported_response_type', error_description: 'Tally issues tokens only at the token endpoint (client credentials, JWT bearer, token exchange); it has no authorization endpoint flows' }
  const requests: InjectOptions[] = [
    { url: '/authorize' },
    { url: '/authorize?response_type=code&client_id=admin&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&state=x&code_challenge=abc&code_challenge_method=S256' },
    { url: '/authorize?response_type=token&client_id=admin&redirect_uri=https://evil.example/cb' },
    { url: '/authorize?response_type=code&response_type=code&%00=%00' },
    { method: 'POST', url: '/authorize', headers: { 'content-type': FORM_TYPE }, payload: 'response_type=code&client_id=admin' },
    { method: 'POST', url: '/authorize', headers: { 'content-type': 'application/json' }, payload: '{"response_type":"code"}' },
    { method: 'POST', url: '/authorize', headers: { 'content-type': 'text/plain' }, payload: 'anything' },
    { method: 'PUT', url: '/authorize?client_id=x' },
    { method: 'DELETE', url: '/authorize' }
  ]
  const answers = []
  for (const request of requests) {
    const res = await app.inject(request)
    answers.push({ status: res.statusCode, location: res.headers.location, cacheControl: res.headers['cache-control'], body: res.json() })
  }
  t.strictSame(answers, requests.map(() => ({ status: 400, location: undefined, cacheControl: 'no-store', body: expected })))
})

t.test('resource identifiers: equivalence at /token, aud as registered, duplicates refused', async (t) => {
  const app = await build(t)
  const admin = await adminToken(app)
  const host = uniqueId('mcp')
  const registered = `https://${host}.example.com`
  expectStatus(await adminCall(app, admin, 'POST', '/admin/resources', { identifier: registered, scopes: ['tools:call'] }))
  const mcpPath = `https://${host}.example.com/mcp`
  expectStatus(await adminCall(app, admin, 'POST', '/admin/resources', { identifier: mcpPath, scopes: ['tools:call'] }))
  const agent = await createClient(app, admin, { kind: 'agent', entitlements: [{ resource: registered, scopes: ['tools:call'] }, { resource: mcpPath, scopes: ['tools:call'] }] })

  t.test('equivalent spellings get a token whose aud is the registered form', async (t) => {
    const spellings = [registered, `${registered}/`, `https://${host.toUpperCase()}.Example.COM:443/`, `HTTPS://${host}.example.com:443`]
    const auds = []
    for (const resource of spellings) {
      const res = await requestToken(app, agent.clientId, agent.secret, { resource })
      auds.push(res.statusCode === 200 ? decodePayload(res.json().access_token).aud : res.body)
    }
    t.strictSame(auds, spellings.map(() => registered))
  })

  t.test('path case and a trailing slash on a non-empty path stay significant', async (t) => {
    const answers = []
    for (const resource of [`${mcpPath}/`, `https://${host}.example.com/MCP`, `https://${host}.example.com:8443/mcp`]) {
      const res = await requestToken(app, agent.clientId, agent.secret, { resource })
      answers.push([res.statusCode, res.json().error])
    }
    t.strictSame(answers, [[400, 'invalid_target'], [400, 'invalid_target'], [400, 'invalid_target']])
    const exact = await requestToken(app, agent.clientId, agent.secret, { resource: `https://${host.toUpperCase()}.example.com/mcp` })
    t.equal(decodePayload(exact.json().access_token).aud, mcpPath, 'host case still folds on a path')
  })

  t.test('a second spelling of a registered identifier is refused with 409', async (t) => {
    const statuses = []
    for (const identifier of [`${registered}/`, `https://${host.toUpperCase()}.example.com:443`, `${mcpPath}`, `https://${host}.example.com:443/mcp`]) {
      statuses.push((await adminCall(app, admin, 'POST', '/admin/resources', { identifier, scopes: ['x'] })).statusCode)
    }
    t.strictSame(statuses, [409, 409, 409, 409])
    const other = await adminCall(app, admin, 'POST', '/admin/resources', { identifier: `${mcpPath}/`, scopes: ['x'] })
    t.equal(other.statusCode, 201, 'a trailing slash on a path names another resource')
  })

  t.test('the admin API finds a resource by any equivalent spelling', async (t) => {
    const res = await adminCall(app, admin, 'GET', `/admin/resources/${encodeURIComponent(`https://${host.toUpperCase()}.example.com:443/`)}`)
    t.strictSame([res.statusCode, res.json().identifier], [200, registered])
  })
})
