// The federation admin API (docs/reference/federation.md with §5's conventions): /admin/trusts and federated credentials.
import t from '../support/tap.js'
import { adminCall, adminToken, build, ISSUER } from '../helper.js'
import { createResource, epochEvents, epochOf, expectStatus } from '../support/admin.js'
import { createTrust, createWorkload, jwtBearer } from './fixture.js'
import { kubernetesClaims, startLocalIssuer } from './local-issuer.js'

const root = t
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/
const host = (): string => `https://${Math.random().toString(36).slice(2, 10)}.issuer.example`

t.test('create, read, list, change and remove a trust', async (t) => {
  const app = await build(root)
  const admin = await adminToken(app)
  const issuer = host()
  const res = await adminCall(app, admin, 'POST', '/admin/trusts', { issuer, claims: { namespace: 'kubernetes.io.namespace' }, name: 'prod cluster' })
  t.equal(res.statusCode, 201)
  t.equal(res.headers['cache-control'], 'no-store')
  const created = res.json()
  t.match(created, { issuer, jwks_uri: null, audience: ISSUER, claims: { namespace: 'kubernetes.io.namespace' }, max_assertion_lifetime_s: 86400, name: 'prod cluster' })
  t.match(created.id, /^[0-9a-f-]{36}$/)
  t.match(created.created_at, RFC3339)

  t.strictSame(expectStatus(await adminCall(app, admin, 'GET', `/admin/trusts/${created.id as string}`), 200), created, 'read by id')
  t.strictSame(expectStatus(await adminCall(app, admin, 'GET', `/admin/trusts/${encodeURIComponent(issuer)}`), 200), created, 'read by issuer')

  const second = await createTrust(app, admin, { issuer: host(), jwks_uri: 'https://keys.example/jwks' })
  const page = expectStatus(await adminCall(app, admin, 'GET', '/admin/trusts?limit=1'), 200)
  t.equal(page.items.length, 1)
  t.type(page.next_cursor, 'string')
  const all: string[] = []
  let cursor: string | null = null
  do {
    const p = expectStatus(await adminCall(app, admin, 'GET', `/admin/trusts?limit=1${cursor !== null ? `&cursor=${cursor}` : ''}`), 200)
    all.push(...p.items.map((i: any) => i.id))
    cursor = p.next_cursor
  } while (cursor !== null)
  t.ok(all.includes(created.id) && all.includes(second.id), 'paging reaches every trust')

  const patched = expectStatus(await adminCall(app, admin, 'PATCH', `/admin/trusts/${created.id as string}`, { max_assertion_lifetime_s: 3600, audience: 'https://tally.example' }), 200)
  t.match(patched, { max_assertion_lifetime_s: 3600, audience: 'https://tally.example', issuer })

  t.equal((await adminCall(app, admin, 'DELETE', `/admin/trusts/${created.id as string}`)).statusCode, 204)
  t.equal((await adminCall(app, admin, 'GET', `/admin/trusts/${created.id as string}`)).statusCode, 404)
  t.equal((await adminCall(app, admin, 'POST', '/admin/trusts', { issuer })).statusCode, 201, 'a removed issuer may be trusted again')

  const audit = expectStatus(await adminCall(app, admin, 'GET', '/admin/audit?limit=500'), 200)
  const actions = audit.items.filter((e: any) => (e.before ?? e.after)?.id === created.id).map((e: any) => e.action)
  t.strictSame(actions, ['trust.create', 'trust.update', 'trust.delete'], 'audited')
})

t.test('bad bodies, unknown ids, duplicates and missing rights', async (t) => {
  const app = await build(root)
  const admin = await adminToken(app)
  const reader = await adminToken(app, 'admin:read')
  const taken = host()
  await createTrust(app, admin, { issuer: taken })
  const cases: Array<[string, unknown, number, string]> = [
    ['no issuer', {}, 400, "body must have required property 'issuer'"],
    ['Tally\'s own issuer', { issuer: ISSUER }, 400, 'issuer must not be Tally\'s own ISSUER'],
    ['Tally\'s own issuer with a slash', { issuer: `${ISSUER}/` }, 400, 'issuer must not be Tally\'s own ISSUER'],
    ['a NUL in issuer', { issuer: 'https://a.example/\u0000' }, 400, 'body/issuer must not contain NUL characters'],
    ['an http jwks_uri', { issuer: host(), jwks_uri: 'http://keys.example/jwks' }, 400, 'jwks_uri must be an https URL (http only on a loopback host)'],
    ['a non-URL issuer without jwks_uri', { issuer: 'spiffe-domain' }, 400, 'issuer must be an https URL for discovery, or jwks_uri must be given'],
    ['an empty claim path', { issuer: host(), claims: { ns: 'a..b' } }, 400, 'claims/ns must be a dot-separated claim path without empty names'],
    ['a non-string claim path', { issuer: host(), claims: { ns: 1 } }, 400, 'body/claims/ns must be string'],
    ['a zero lifetime', { issuer: host(), max_assertion_lifetime_s: 0 }, 400, 'body/max_assertion_lifetime_s must be >= 1'],
    ['an unknown member', { issuer: host(), secret: 'x' }, 400, 'body/secret is not allowed'],
    ['a duplicate issuer', { issuer: taken }, 409, 'a trust for this issuer already exists']
  ]
  const failures: string[] = []
  for (const [what, body, status, description] of cases) {
    const res = await adminCall(app, admin, 'POST', '/admin/trusts', body)
    if (res.statusCode !== status || res.json().error_description !== description) failures.push(`${what}: ${res.statusCode} ${res.body}`)
  }
  t.strictSame(failures, [], 'each bad body names its field')
  t.equal((await adminCall(app, admin, 'GET', '/admin/trusts/00000000-0000-4000-8000-000000000000')).statusCode, 404)
  t.equal((await adminCall(app, admin, 'PATCH', '/admin/trusts/00000000-0000-4000-8000-000000000000', { name: 'x' })).statusCode, 404)
  t.equal((await adminCall(app, admin, 'DELETE', '/admin/trusts/00000000-0000-4000-8000-000000000000')).statusCode, 404)
  const issuerChange = await adminCall(app, admin, 'PATCH', `/admin/trusts/${encodeURIComponent(taken)}`, { issuer: host() })
  t.strictSame([issuerChange.statusCode, issuerChange.json().error_description], [400, 'body/issuer is not allowed'], 'an issuer never changes')
  t.equal((await adminCall(app, reader, 'POST', '/admin/trusts', { issuer: host() })).statusCode, 403, 'admin:read may not write')
  t.equal((await adminCall(app, reader, 'GET', '/admin/trusts')).statusCode, 200, 'admin:read may list')
  t.equal((await app.inject({ url: '/admin/trusts' })).statusCode, 401)
})

t.test('federated credentials: created, listed, refused, revoked with a bump', async (t) => {
  const app = await build(root)
  const admin = await adminToken(app)
  const k8s = await startLocalIssuer(t)
  await createTrust(app, admin, { issuer: k8s.issuer, claims: { namespace: 'kubernetes.io.namespace' } })
  const { identifier: api } = await createResource(app, admin, { scopes: ['read'] })
  const identity = expectStatus(await adminCall(app, admin, 'POST', '/admin/identities', { client_id: `wl-${Math.random().toString(36).slice(2, 10)}`, kind: 'workload' }))
  const subject = 'system:serviceaccount:ns:sa'
  const res = await adminCall(app, admin, 'POST', `/admin/identities/${identity.id as string}/federated`, { issuer: k8s.issuer, subject, match: { namespace: 'ns' } })
  t.equal(res.statusCode, 201)
  const credential = res.json()
  t.match(credential, { type: 'federated', issuer: k8s.issuer, subject, match: { namespace: 'ns' }, revoked_at: null })
  t.match(credential.created_at, RFC3339)
  t.equal(await epochOf(app, identity.id), 1, 'an addition: no bump')

  const read = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${identity.client_id as string}`), 200)
  t.strictSame(read.credentials, [{ ...credential, last_used_at: null }], 'listed with the identity\'s credentials (with its last use)')

  const refused: Array<[string, unknown, number, string]> = [
    ['an issuer with no trust', { issuer: 'https://nobody.example', subject }, 400, 'issuer: no trust has this issuer'],
    ['no subject', { issuer: k8s.issuer }, 400, "body must have required property 'subject'"],
    ['a NUL in subject', { issuer: k8s.issuer, subject: 'a\u0000' }, 400, 'body/subject must not contain NUL characters'],
    ['a duplicate', { issuer: k8s.issuer, subject, match: { namespace: 'ns' } }, 409, 'this identity already has this federated credential']
  ]
  for (const [what, body, status, description] of refused) {
    const r = await adminCall(app, admin, 'POST', `/admin/identities/${identity.id as string}/federated`, body)
    t.strictSame([r.statusCode, r.json().error_description], [status, description], what)
  }
  t.equal((await adminCall(app, admin, 'POST', '/admin/identities/nobody-here/federated', { issuer: k8s.issuer, subject })).statusCode, 404, 'unknown identity')

  expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${identity.id as string}/entitlements`, { resource: api, scopes: ['read'] }))
  const assertion = await k8s.sign(kubernetesClaims(k8s.issuer, ISSUER, 'ns', 'sa'))
  t.equal((await jwtBearer(app, assertion)).statusCode, 200)
  t.equal((await adminCall(app, admin, 'DELETE', `/admin/identities/${identity.id as string}/credentials/${credential.id as string}`)).statusCode, 204)
  t.equal(await epochOf(app, identity.id), 2, 'revoking it bumps')
  const after = await jwtBearer(app, assertion)
  t.strictSame([after.statusCode, after.json()], [400, { error: 'invalid_grant', error_description: 'no federated credential matches the assertion sub and context' }])
})

t.test('trust changes bump only when they could withhold access', async (t) => {
  const app = await build(root)
  const admin = await adminToken(app)
  const trust = await createTrust(app, admin, { issuer: host(), jwks_uri: 'https://keys.example/a' })
  const wl = await createWorkload(app, admin, { issuer: trust.issuer, subject: 's' })
  const changes: Array<[string, Record<string, unknown>, number]> = [
    ['name', { name: 'renamed' }, 1],
    ['the same lifetime', { max_assertion_lifetime_s: 86400 }, 1],
    ['jwks_uri', { jwks_uri: 'https://keys.example/b' }, 2],
    ['audience', { audience: 'https://other.example' }, 3],
    ['claims', { claims: { a: 'b' } }, 4],
    ['lifetime', { max_assertion_lifetime_s: 60 }, 5]
  ]
  for (const [what, body, epoch] of changes) {
    expectStatus(await adminCall(app, admin, 'PATCH', `/admin/trusts/${trust.id as string}`, body), 200)
    t.equal(await epochOf(app, wl.id), epoch, what)
  }
  t.equal((await adminCall(app, admin, 'DELETE', `/admin/trusts/${trust.id as string}`)).statusCode, 204)
  t.strictSame((await epochEvents(app, wl.id)).map((e) => e.reason), ['trust_changed', 'trust_changed', 'trust_changed', 'trust_changed', 'trust_removed'])
})
