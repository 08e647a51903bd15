// /admin/resources (docs/reference/admin-api.md): create, list, read, change; the built-in urn:tally:admin cannot change;
// removing a scope narrows (and bumps) every identity entitled to it, adding one bumps nobody.
import t from '../../support/tap.js'
import { adminCall, adminToken, build, decodePayload, requestToken, uniqueId } from '../../helper.js'
import { createClient, createResource, epochEvents, epochOf, expectStatus } from '../../support/admin.js'
import { assertNoStore } from '../../support/oauth.js'

const app = await build(t)
const admin = await adminToken(app)
const adminId = decodePayload(admin).sub as string
const enc = encodeURIComponent

t.test('POST /admin/resources → 201; GET reads it by identifier; 409 on a duplicate', async (t) => {
  const rs = await createClient(app, admin, { kind: 'resource_server' })
  const identifier = `https://${uniqueId('api')}.example.test/v1`
  const res = await adminCall(app, admin, 'POST', '/admin/resources', { identifier, name: 'Orders', scopes: ['orders:read', 'orders:write'], max_token_ttl_s: 600, introspectors: [rs.clientId] })
  t.equal(res.statusCode, 201)
  assertNoStore(t, res)
  const body = res.json()
  t.strictSame(body, {
    id: body.id, identifier, name: 'Orders', scopes: ['orders:read', 'orders:write'], max_token_ttl_s: 600, introspectors: [rs.clientId],
    builtin: false, created_at: body.created_at, updated_at: body.updated_at
  })
  t.strictSame(expectStatus(await adminCall(app, admin, 'GET', `/admin/resources/${enc(identifier)}`), 200), body, 'read by identifier')
  const urn = `urn:example:${uniqueId('svc')}`
  t.equal((await adminCall(app, admin, 'POST', '/admin/resources', { identifier: urn, scopes: ['a'] })).statusCode, 201, 'a URN identifier')
  t.equal(expectStatus(await adminCall(app, admin, 'GET', `/admin/resources/${enc(urn)}`), 200).max_token_ttl_s, null, 'no max ttl by default')

  const dup = await adminCall(app, admin, 'POST', '/admin/resources', { identifier, scopes: ['x'] })
  t.equal(dup.statusCode, 409)
  t.strictSame(dup.json(), { error: 'conflict', error_description: 'a resource with this identifier exists' })
  const builtin = await adminCall(app, admin, 'POST', '/admin/resources', { identifier: 'urn:tally:admin', scopes: ['x'] })
  t.equal(builtin.statusCode, 409, 'urn:tally:admin cannot be created again')

  const missing = await adminCall(app, admin, 'GET', `/admin/resources/${enc('https://nope.example.test')}`)
  t.equal(missing.statusCode, 404)
  t.strictSame(missing.json(), { error: 'not_found', error_description: 'resource not found' })
})

t.test('POST /admin/resources validation names the field', async (t) => {
  const cases: Array<{ body: unknown, description: string, msg: string }> = [
    { body: { scopes: ['a'] }, description: "body must have required property 'identifier'", msg: 'no identifier' },
    { body: { identifier: 'https://a.example.test' }, description: "body must have required property 'scopes'", msg: 'no scopes' },
    { body: { identifier: 'not a uri', scopes: ['a'] }, description: 'identifier must be an absolute URI or URN', msg: 'relative identifier' },
    { body: { identifier: '/v1/orders', scopes: ['a'] }, description: 'identifier must be an absolute URI or URN', msg: 'path only' },
    { body: { identifier: 'https://a.example.test/#frag', scopes: ['a'] }, description: 'identifier must not contain a fragment', msg: 'fragment' },
    { body: { identifier: 'https://a.example.test', scopes: 'a' }, description: 'body/scopes must be array', msg: 'scopes as a string' },
    { body: { identifier: 'https://a.example.test', scopes: ['a b'] }, description: 'body/scopes/0 must match pattern "^[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,128}$"', msg: 'scope with a space' },
    { body: { identifier: 'https://a.example.test', scopes: ['a', 'a'] }, description: 'body/scopes must NOT have duplicate items (items ## 1 and 0 are identical)', msg: 'duplicate scopes' },
    { body: { identifier: 'https://a.example.test', scopes: ['a'], max_token_ttl_s: 0 }, description: 'body/max_token_ttl_s must be >= 1, body/max_token_ttl_s must be null, body/max_token_ttl_s must match a schema in anyOf', msg: 'ttl 0' },
    { body: { identifier: 'https://a.example.test', scopes: ['a'], introspectors: ['nobody-known'] }, description: 'introspectors: unknown client_id nobody-known', msg: 'unknown introspector' },
    { body: { identifier: 'https://a.example.test', scopes: ['a'], owner: 'x' }, description: 'body/owner is not allowed', msg: 'unknown member' }
  ]
  for (const c of cases) {
    const res = await adminCall(app, admin, 'POST', '/admin/resources', c.body)
    t.equal(res.statusCode, 400, c.msg)
    t.strictSame(res.json(), { error: 'invalid_request', error_description: c.description }, c.msg)
  }
  t.equal((await adminCall(app, admin, 'GET', `/admin/resources/${enc('https://a.example.test')}`)).statusCode, 404, 'nothing was created')
})

t.test('GET /admin/resources lists with limit/cursor, the built-in admin resource included', async (t) => {
  const made: string[] = []
  for (let i = 0; i < 3; i++) made.push((await createResource(app, admin, { scopes: ['s'] })).identifier)
  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const url: string = `/admin/resources?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`
    const body = expectStatus(await adminCall(app, admin, 'GET', url), 200)
    t.ok(body.items.length <= 2, `${url}: limit`)
    seen.push(...body.items.map((r: any) => r.identifier))
    cursor = body.next_cursor
    pages++
  } while (cursor !== null && pages < 50)
  t.equal(new Set(seen).size, seen.length, 'no resource twice')
  for (const r of [...made, 'urn:tally:admin']) t.ok(seen.includes(r), `${r} listed`)
  const adminRes = expectStatus(await adminCall(app, admin, 'GET', `/admin/resources/${enc('urn:tally:admin')}`), 200)
  t.strictSame([adminRes.builtin, adminRes.scopes], [true, ['admin:read', 'admin:write', 'admin:revoke']], 'the built-in admin resource')
})

t.test('PATCH /admin/resources/:id → 200 changed object; urn:tally:admin cannot change', async (t) => {
  const rs = await createClient(app, admin, { kind: 'resource_server' })
  const { identifier: identifier } = await createResource(app, admin, { scopes: ['a'] })
  const res = await adminCall(app, admin, 'PATCH', `/admin/resources/${enc(identifier)}`, { name: 'Renamed', max_token_ttl_s: 60, introspectors: [rs.clientId] })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { identifier, name: 'Renamed', max_token_ttl_s: 60, introspectors: [rs.clientId], scopes: ['a'] })
  const cleared = expectStatus(await adminCall(app, admin, 'PATCH', `/admin/resources/${enc(identifier)}`, { max_token_ttl_s: null, introspectors: [] }), 200)
  t.strictSame([cleared.max_token_ttl_s, cleared.introspectors], [null, []], 'cleared')

  const before = expectStatus(await adminCall(app, admin, 'GET', `/admin/resources/${enc('urn:tally:admin')}`), 200)
  for (const body of [{ scopes: ['admin:read'] }, { scopes: ['admin:read', 'admin:write', 'admin:revoke', 'admin:extra'] }, { name: 'x' }, { max_token_ttl_s: 5 }]) {
    const r = await adminCall(app, admin, 'PATCH', `/admin/resources/${enc('urn:tally:admin')}`, body)
    t.equal(r.statusCode, 400, JSON.stringify(body))
    t.strictSame(r.json(), { error: 'invalid_request', error_description: 'the admin resource cannot be changed' }, JSON.stringify(body))
  }
  t.strictSame(expectStatus(await adminCall(app, admin, 'GET', `/admin/resources/${enc('urn:tally:admin')}`), 200), before, 'urn:tally:admin unchanged')
  t.equal((await adminCall(app, admin, 'PATCH', `/admin/resources/${enc('https://nope.example.test')}`, { name: 'x' })).statusCode, 404, 'unknown resource')
  t.equal((await adminCall(app, admin, 'PATCH', `/admin/resources/${enc(identifier)}`, { identifier: 'https://other.example.test' })).statusCode, 400, 'the identifier cannot change')
})

t.test('removing a scope narrows: every entitled identity bumped once, an emptied entitlement deleted; adding bumps nobody', async (t) => {
  const { identifier: resource } = await createResource(app, admin, { scopes: ['read', 'write', 'delete'] })
  const { identifier: other } = await createResource(app, admin, { scopes: ['read'] })
  const both = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read', 'write'] }, { resource, scopes: ['write'], conditions: { env: 'ci' } }] })
  const writeOnly = await createClient(app, admin, { entitlements: [{ resource, scopes: ['write'] }, { resource: other, scopes: ['read'] }] })
  const readOnly = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const bystander = await createClient(app, admin, { entitlements: [{ resource: other, scopes: ['read'] }] })

  const added = expectStatus(await adminCall(app, admin, 'PATCH', `/admin/resources/${enc(resource)}`, { scopes: ['read', 'write', 'delete', 'admin'] }), 200)
  t.strictSame(added.scopes, ['read', 'write', 'delete', 'admin'], 'scope added')
  for (const c of [both, writeOnly, readOnly, bystander]) t.equal(await epochOf(app, c.id), 1, `adding a scope bumps nobody (${c.clientId})`)

  const unusedRemoved = expectStatus(await adminCall(app, admin, 'PATCH', `/admin/resources/${enc(resource)}`, { scopes: ['read', 'write', 'admin'] }), 200)
  t.strictSame(unusedRemoved.scopes, ['read', 'write', 'admin'])
  for (const c of [both, writeOnly, readOnly]) t.equal(await epochOf(app, c.id), 1, `removing a scope nobody holds bumps nobody (${c.clientId})`)

  expectStatus(await adminCall(app, admin, 'PATCH', `/admin/resources/${enc(resource)}`, { scopes: ['read', 'admin'] }), 200)
  t.equal(await epochOf(app, both.id), 2, 'an identity with two entitlements holding the scope is bumped once')
  t.equal(await epochOf(app, writeOnly.id), 2, 'an identity losing its whole entitlement is bumped')
  t.equal(await epochOf(app, readOnly.id), 1, 'an identity not holding the scope is not bumped')
  t.equal(await epochOf(app, bystander.id), 1, 'an identity on another resource is not bumped')

  const bothView = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${both.id}`), 200)
  t.strictSame(bothView.entitlements.map((e: any) => [e.resource, e.scopes, e.conditions]), [[resource, ['read'], null]], 'scope removed; the emptied entitlement deleted')
  const writeView = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${writeOnly.id}`), 200)
  t.strictSame(writeView.entitlements.map((e: any) => [e.resource, e.scopes]), [[other, ['read']]], 'only the other resource is left')

  for (const c of [both, writeOnly]) {
    t.strictSame((await epochEvents(app, c.id)).map((e) => [e.epoch, e.reason]), [[2, 'resource_scope_removed']], `epoch event for ${c.clientId}`)
  }
  t.strictSame(await epochEvents(app, readOnly.id), [], 'no event for the unaffected identity')

  const res = await requestToken(app, both.clientId, both.secret, { resource, scope: 'write' })
  t.equal(res.statusCode, 400, 'the removed scope can no longer be requested')
  t.equal(res.json().error, 'invalid_scope')
  t.equal(decodePayload((await requestToken(app, both.clientId, both.secret, { resource })).json().access_token).epoch, 2, 'new tokens carry the new epoch')

  const audit = expectStatus(await adminCall(app, admin, 'GET', '/admin/audit?limit=500'), 200).items.filter((a: any) => a.action === 'resource.update' && a.after?.identifier === resource)
  t.equal(audit.length, 3, 'one audit row per change')
  t.strictSame(audit.map((a: any) => [a.before.scopes, a.after.scopes]), [
    [['read', 'write', 'delete'], ['read', 'write', 'delete', 'admin']],
    [['read', 'write', 'delete', 'admin'], ['read', 'write', 'admin']],
    [['read', 'write', 'admin'], ['read', 'admin']]
  ], 'before/after of each change')
  t.ok(audit.every((a: any) => a.actor === adminId && a.identity === null), 'actor is the admin UUID')
})
