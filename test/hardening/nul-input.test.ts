// Issue 9 findings 1 and 9: input Postgres cannot store (a NUL) is a client error refused before SQL, and
// one attacker's bad request can never fail the honest requests whose lookups are grouped with it.
import { randomUUID } from 'node:crypto'
import t from '../support/tap.js'
import type { LightMyRequestResponse } from 'fastify'
import { generateKeyPair } from 'jose'
import { adminCall, adminToken, build, FORM_TYPE, ISSUER } from '../helper.js'
import { createClient, createResource, expectStatus, grant } from '../support/admin.js'
import { assertInvalidClient, assertion, assertionParams, introspectAs, postForm, someAddress, tokenFor, unsignedJwt } from '../support/oauth.js'
import { ClientLoader } from '../../server/store/clients.js'
import { TrustLoader } from '../../server/store/trusts.js'

const app = await build(t)
const admin = await adminToken(app)
const api = await createResource(app, admin, { scopes: ['read'] })
const rs = await createClient(app, admin, { kind: 'resource_server' })
expectStatus(await adminCall(app, admin, 'PATCH', `/admin/resources/${api.id}`, { introspectors: [rs.clientId] }), 200)
const svc = await createClient(app, admin)
await grant(app, admin, svc.id, api.identifier, ['read'])

const NUL_BASIC = 'Basic ' + Buffer.from('%00:x').toString('base64')
const RAW_NUL_BASIC = 'Basic ' + Buffer.from('a\u0000b:x').toString('base64')

const post = async (url: string, params: Record<string, string>, authorization?: string): Promise<LightMyRequestResponse> => await postForm(app, url, authorization, params)

/** A token shaped like Tally's (so it reaches the session lookup) whose header kid holds a NUL. */
function tokenWithNulKid (): string {
  const now = Math.floor(Date.now() / 1000)
  return unsignedJwt({ typ: 'at+jwt', alg: 'ES256', kid: 'k\u0000' }, {
    iss: ISSUER, sub: svc.id, client_id: svc.clientId, aud: api.identifier, scope: 'read', epoch: 1, iat: now, exp: now + 300, jti: randomUUID(), entitlements: []
  }) + 'c2ln'
}

t.test('a NUL in Basic credentials is 401 invalid_client at every endpoint that authenticates', async (t) => {
  for (const [url, params] of [['/token', { grant_type: 'client_credentials' }], ['/introspect', { token: 'x' }], ['/revoke', { token: 'x' }], ['/epochs', {}]] as const) {
    assertInvalidClient(t, await post(url, params, NUL_BASIC), `${url}: Basic %00:x`)
    assertInvalidClient(t, await post(url, params, RAW_NUL_BASIC), `${url}: a raw NUL in the client_id`)
  }
  const get = await app.inject({ method: 'GET', url: '/epochs', remoteAddress: someAddress(), headers: { authorization: NUL_BASIC } })
  assertInvalidClient(t, get, 'GET /epochs: Basic %00:x')
})

t.test('a NUL in form parameters is 400 invalid_request before any lookup', async (t) => {
  const res = await app.inject({ method: 'POST', url: '/token', headers: { 'content-type': FORM_TYPE }, payload: 'grant_type=client_credentials&client_id=%00&client_secret=x' })
  t.equal(res.statusCode, 400)
  t.strictSame(res.json(), { error: 'invalid_request', error_description: 'parameters must not contain NUL or control characters' })
})

t.test('an assertion whose iss holds a NUL is 401 invalid_client', async (t) => {
  const { privateKey } = await generateKeyPair('ES256')
  for (const iss of ['\u0000', `${svc.clientId}\u0000`, 'x'.repeat(60_000).slice(0, 7000)]) {
    const a = await assertion(privateKey, 'ES256', iss, ISSUER, {}, { kid: 'k' })
    assertInvalidClient(t, await post('/token', { grant_type: 'client_credentials', ...assertionParams(a) }), `iss ${JSON.stringify(iss.slice(0, 12))}`)
  }
  const kidNul = await assertion(privateKey, 'ES256', svc.clientId, ISSUER, {}, { kid: 'k\u0000' })
  assertInvalidClient(t, await post('/token', { grant_type: 'client_credentials', ...assertionParams(kidNul) }), 'a kid with a NUL')
})

t.test('a token whose header kid holds a NUL: inactive at /introspect, 401 at the admin API', async (t) => {
  const intro = await introspectAs(app, rs, tokenWithNulKid())
  t.equal(intro.statusCode, 200)
  t.strictSame(intro.json(), { active: false })
  for (const url of ['/admin/identities', '/admin/resources', `/admin/identities/${svc.id}`]) {
    const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${tokenWithNulKid()}` } })
    t.equal(res.statusCode, 401, `${url}: 401`)
    t.equal(res.json().error, 'invalid_token', `${url}: invalid_token`)
  }
})

t.test('an attacker sending Basic %00:x beside honest clients fails only itself', async (t) => {
  const token = await tokenFor(app, svc, { resource: api.identifier })
  let stop = false
  const attackerStatuses = new Set<number>()
  const attacker = async (): Promise<void> => {
    while (!stop) {
      const url = attackerStatuses.size % 2 === 0 ? '/token' : '/introspect'
      attackerStatuses.add((await post(url, { grant_type: 'client_credentials', token: 'x' }, NUL_BASIC)).statusCode)
    }
  }
  const attackers = [attacker(), attacker()]
  const honest = await Promise.all(Array.from({ length: 60 }, async (_, i) => i % 2 === 0
    ? (await post('/token', { grant_type: 'client_credentials', resource: api.identifier }, `Basic ${Buffer.from(`${svc.clientId}:${svc.secret}`).toString('base64')}`)).statusCode
    : (await introspectAs(app, rs, token)).statusCode))
  stop = true
  await Promise.all(attackers)
  t.strictSame(honest, Array(60).fill(200), 'every honest /token and /introspect succeeds')
  t.strictSame([...attackerStatuses].filter((s) => s !== 401 && s !== 429), [], 'the attacker gets 401 (or 429), never a 5xx')
})

/** Fault injection on a real database: the first statement (the grouped one) fails, every later one runs. */
function failingFirstStatement (): { db: typeof app.tally.db, failures: () => number } {
  let failed = 0
  const db = app.tally.db.withPlugin({
    transformQuery: (args) => args.node,
    transformResult: async (args) => {
      if (failed === 0) { failed++; throw new Error('injected failure of the grouped statement') }
      return args.result
    }
  })
  return { db, failures: () => failed }
}

t.test('when a grouped statement fails, each member is retried alone', async (t) => {
  const { db, failures } = failingFirstStatement()
  const loader = new ClientLoader(db)
  const lookups = await Promise.all([loader.load(svc.clientId), loader.load(rs.clientId), loader.load('no-such-client')])
  t.equal(failures(), 1, 'the grouped statement failed once')
  t.strictSame(lookups.map((l) => l.client?.clientId), [svc.clientId, rs.clientId, undefined], 'every member got its own answer')
})

t.test('when a grouped trust lookup fails, each member is retried alone', async (t) => {
  const { db, failures } = failingFirstStatement()
  const loader = new TrustLoader(db)
  const lookups = await Promise.all(['https://a.example', 'https://b.example', 'https://c.example'].map(async (issuer) => await loader.load(issuer, 'sub')))
  t.equal(failures(), 1, 'the grouped statement failed once')
  t.strictSame(lookups, Array(3).fill({ trust: undefined, candidates: [] }), 'every member got its own answer')
})

t.test('admin API: a NUL in a JSON string or a path segment is 400 naming the field', async (t) => {
  const cases: Array<[string, 'POST' | 'PATCH' | 'GET' | 'DELETE', string, unknown, string]> = [
    ['client_id', 'POST', '/admin/identities', { client_id: 'a\u0000b', kind: 'agent' }, 'body/client_id must not contain NUL characters'],
    ['metadata member', 'POST', '/admin/identities', { client_id: 'nul-meta', kind: 'agent', metadata: { team: 'x\u0000' } }, 'body/metadata/team must not contain NUL characters'],
    ['member name', 'PATCH', `/admin/identities/${svc.id}`, { metadata: { 'a\u0000': 'x' } }, 'body/metadata must not contain NUL characters'],
    ['array item', 'PATCH', `/admin/resources/${api.id}`, { scopes: ['read', 'w\u0000'] }, 'body/scopes/1 must not contain NUL characters'],
    [':id', 'GET', '/admin/identities/a%00b', undefined, 'params/id must not contain NUL or control characters'],
    [':id of a child route', 'DELETE', `/admin/identities/${svc.id}/credentials/%00`, undefined, 'params/cid must not contain NUL or control characters']
  ]
  for (const [name, method, url, body, description] of cases) {
    const res = await adminCall(app, admin, method, url, body)
    t.equal(res.statusCode, 400, `${name}: 400`)
    t.strictSame(res.json(), { error: 'invalid_request', error_description: description }, `${name}: names the field`)
  }
})
