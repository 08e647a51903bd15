// Entitlements, sessions and the audit log (docs/reference/concepts.md "epoch", admin-api.md): additions never bump; anything that
// narrows bumps exactly once in the same transaction, with an epoch_events row; every change is audited.
import t from '../../support/tap.js'
import { adminCall, adminToken, basic, build, decodePayload, form, FORM_TYPE, requestToken } from '../../helper.js'
import { createClient, createResource, type EntitlementSpec, epochEvents, epochOf, expectStatus, inSeconds } from '../../support/admin.js'
import { assertNoStore } from '../../support/oauth.js'

const app = await build(t)
const admin = await adminToken(app)
const adminId = decodePayload(admin).sub as string

t.test('POST /admin/identities/:id/entitlements → 201, an addition: no bump', async (t) => {
  const { identifier: resource } = await createResource(app, admin, { scopes: ['read', 'write'] })
  const client = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const token = (await requestToken(app, client.clientId, client.secret)).json().access_token
  const expiresAt = inSeconds(3600)
  const res = await adminCall(app, admin, 'POST', `/admin/identities/${client.clientId}/entitlements`, { resource, scopes: ['write'], conditions: { env: 'prod' }, expires_at: expiresAt, reason: 'release' })
  t.equal(res.statusCode, 201)
  assertNoStore(t, res)
  const body = res.json()
  t.strictSame(body, {
    id: body.id, resource, scopes: ['write'], conditions: { env: 'prod' }, expires_at: new Date(expiresAt).toISOString(), reason: 'release', granted_by: adminId, created_at: body.created_at
  })
  t.equal(await epochOf(app, client.id), 1, 'no bump')
  t.strictSame(await epochEvents(app, client.id), [], 'no epoch event')
  t.equal(decodePayload(token).epoch, 1, 'the old token stays at epoch 1, still current')
  t.equal((await requestToken(app, client.clientId, client.secret, { scope: 'read write' })).json().scope, 'read write', 'the next token carries the addition')

  const bad: Array<{ body: unknown, description: string, msg: string }> = [
    { body: { resource: 'https://nope.example.test', scopes: ['read'] }, description: 'resource: unknown resource https://nope.example.test', msg: 'unknown resource' },
    { body: { resource, scopes: ['admin'] }, description: `scopes: admin is not a scope of ${resource}`, msg: 'unknown scope' },
    { body: { resource, scopes: [] }, description: 'body/scopes must NOT have fewer than 1 items', msg: 'no scope' },
    { body: { scopes: ['read'] }, description: "body must have required property 'resource'", msg: 'no resource' },
    { body: { resource, scopes: ['read'], expires_at: '2000-01-01T00:00:00Z' }, description: 'expires_at must be in the future', msg: 'expiry in the past' },
    { body: { resource, scopes: ['read'], expires_at: 'soon' }, description: 'body/expires_at must match format "date-time"', msg: 'expiry not a timestamp' },
    { body: { resource, scopes: ['read'], conditions: { nested: { a: 1 } } }, description: 'body/conditions/nested must be string, body/conditions/nested must be number, body/conditions/nested must be boolean, body/conditions/nested must match a schema in anyOf', msg: 'conditions must be flat' },
    { body: { resource, scopes: ['read'], granted_by: 'me' }, description: 'body/granted_by is not allowed', msg: 'granted_by is not the caller\'s to set' }
  ]
  for (const c of bad) {
    const r = await adminCall(app, admin, 'POST', `/admin/identities/${client.id}/entitlements`, c.body)
    t.equal(r.statusCode, 400, c.msg)
    t.strictSame(r.json(), { error: 'invalid_request', error_description: c.description }, c.msg)
  }
  t.equal((await adminCall(app, admin, 'POST', '/admin/identities/nobody-at-all/entitlements', { resource, scopes: ['read'] })).statusCode, 404, 'unknown identity')
  t.equal(expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${client.id}`), 200).entitlements.length, 2, 'nothing else was added')
})

t.test('PUT /admin/identities/:id/entitlements bumps once only when the new set narrows', async (t) => {
  const { identifier: r1 } = await createResource(app, admin, { scopes: ['read', 'write', 'delete'] })
  const { identifier: r2 } = await createResource(app, admin, { scopes: ['read'] })
  const far = inSeconds(7200)
  const farther = inSeconds(14_400)
  const near = inSeconds(3600)
  const base: EntitlementSpec[] = [{ resource: r1, scopes: ['read', 'write'], conditions: { env: 'prod' }, expires_at: far }]
  const cases: Array<{ after: EntitlementSpec[], bump: boolean, msg: string }> = [
    { after: base, bump: false, msg: 'the same set again' },
    { after: [{ ...base[0] as EntitlementSpec, scopes: ['read', 'write', 'delete'] }], bump: false, msg: 'a scope added' },
    { after: [...base, { resource: r2, scopes: ['read'] }], bump: false, msg: 'an entitlement added' },
    { after: [{ ...base[0] as EntitlementSpec, reason: 'renewed' }], bump: false, msg: 'only the reason changed' },
    { after: [{ ...base[0] as EntitlementSpec, expires_at: farther }], bump: false, msg: 'expiry extended' },
    { after: [{ resource: r1, scopes: ['read', 'write'], conditions: { env: 'prod' } }], bump: false, msg: 'expiry removed (never expires)' },
    { after: [{ resource: r1, scopes: ['read'], conditions: { env: 'prod' }, expires_at: far }, { resource: r1, scopes: ['write'], conditions: { env: 'prod' }, expires_at: far }], bump: false, msg: 'the same grants split in two' },
    { after: [{ ...base[0] as EntitlementSpec, scopes: ['read'] }], bump: true, msg: 'a scope removed' },
    { after: [{ ...base[0] as EntitlementSpec, conditions: { env: 'staging' } }], bump: true, msg: 'conditions changed' },
    { after: [{ ...base[0] as EntitlementSpec, conditions: { env: 'prod', region: 'eu' } }], bump: true, msg: 'a condition added' },
    { after: [{ ...base[0] as EntitlementSpec, expires_at: near }], bump: true, msg: 'expiry brought forward' },
    { after: [{ resource: r2, scopes: ['read'] }], bump: true, msg: 'the entitlement replaced by another' },
    { after: [], bump: true, msg: 'everything removed' }
  ]
  for (const c of cases) {
    const client = await createClient(app, admin, { entitlements: base })
    const res = await adminCall(app, admin, 'PUT', `/admin/identities/${client.id}/entitlements`, c.after)
    t.equal(res.statusCode, 200, c.msg)
    const body = res.json()
    const epoch = c.bump ? 2 : 1
    t.equal(body.epoch, epoch, `${c.msg}: epoch in the answer`)
    t.equal(await epochOf(app, client.id), epoch, `${c.msg}: epoch stored`)
    t.strictSame((await epochEvents(app, client.id)).map((e) => [e.epoch, e.reason]), c.bump ? [[2, 'entitlements_replaced']] : [], `${c.msg}: epoch events`)
    // Items made in one transaction come in no particular order.
    const sorted = (rows: unknown[][]): unknown[][] => rows.map((r) => [JSON.stringify(r), r] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1)).map((x) => x[1])
    t.strictSame(sorted(body.items.map((e: any) => [e.resource, e.scopes, e.conditions, e.expires_at])),
      sorted(c.after.map((e) => [e.resource, e.scopes, e.conditions ?? null, e.expires_at === undefined ? null : new Date(e.expires_at).toISOString()])), `${c.msg}: items`)
  }

  const client = await createClient(app, admin, { entitlements: base })
  const bad = await adminCall(app, admin, 'PUT', `/admin/identities/${client.id}/entitlements`, [{ resource: r1, scopes: ['read'] }, { resource: r2, scopes: ['nope'] }])
  t.equal(bad.statusCode, 400, 'one bad item')
  t.strictSame(bad.json(), { error: 'invalid_request', error_description: `body/1/scopes: nope is not a scope of ${r2}` }, 'the message names the item')
  t.equal(await epochOf(app, client.id), 1, 'nothing changed: no bump')
  t.equal(expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${client.id}`), 200).entitlements[0].scopes.length, 2, 'nothing changed: same set')
  const notArray = await adminCall(app, admin, 'PUT', `/admin/identities/${client.id}/entitlements`, { resource: r1, scopes: ['read'] })
  t.strictSame(notArray.json(), { error: 'invalid_request', error_description: 'body must be array' }, 'the body is an array')
})

t.test('DELETE /admin/identities/:id/entitlements/:eid → 204, bumps', async (t) => {
  const { identifier: resource } = await createResource(app, admin)
  const client = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }, { resource, scopes: ['write'] }] })
  const [e1] = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${client.id}`), 200).entitlements
  const res = await adminCall(app, admin, 'DELETE', `/admin/identities/${client.id}/entitlements/${e1.id as string}`)
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal(await epochOf(app, client.id), 2, 'bumped')
  t.strictSame((await epochEvents(app, client.id)).map((e) => [e.epoch, e.reason]), [[2, 'entitlement_deleted']])
  t.equal((await requestToken(app, client.clientId, client.secret)).json().scope, 'write', 'only the other entitlement is left')
  const again = await adminCall(app, admin, 'DELETE', `/admin/identities/${client.id}/entitlements/${e1.id as string}`)
  t.equal(again.statusCode, 404, 'deleting it again')
  t.strictSame(again.json(), { error: 'not_found', error_description: 'entitlement not found' })
  const other = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const [otherE] = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${other.id}`), 200).entitlements
  t.equal((await adminCall(app, admin, 'DELETE', `/admin/identities/${client.id}/entitlements/${otherE.id as string}`)).statusCode, 404, "another identity's entitlement")
  t.equal(await epochOf(app, other.id), 1, 'which is untouched')
  t.equal((await adminCall(app, admin, 'DELETE', `/admin/identities/${client.id}/entitlements/not-a-uuid`)).statusCode, 400, 'malformed id')
  t.equal(await epochOf(app, client.id), 2, 'no bump for failed deletes')
})

t.test('revoke-sessions → 200 {epoch}; sessions list with revoked and stale flags', async (t) => {
  const { identifier: resource } = await createResource(app, admin, { scopes: ['read', 'write'] })
  const client = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read', 'write'] }] })
  const first = (await requestToken(app, client.clientId, client.secret, { scope: 'read' })).json().access_token
  const second = (await requestToken(app, client.clientId, client.secret)).json().access_token
  const revoke = await app.inject({ method: 'POST', url: '/revoke', headers: { authorization: basic(client.clientId, client.secret), 'content-type': FORM_TYPE }, payload: form({ token: first }) })
  t.equal(revoke.statusCode, 200, 'the client revokes its first token')

  const listed = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${client.clientId}/sessions`), 200)
  assertNoStore(t, await adminCall(app, admin, 'GET', `/admin/identities/${client.id}/sessions`))
  const view = (token: string, revoked: boolean, stale: boolean): Record<string, unknown> => {
    const c = decodePayload(token)
    return { jti: c.jti, epoch: c.epoch, resource, scope: c.scope, iat: new Date(c.iat * 1000).toISOString(), exp: new Date(c.exp * 1000).toISOString(), credential_id: client.secretId, revoked, stale }
  }
  const byJti = (items: any[]): any[] => [...items].sort((a, b) => (a.jti < b.jti ? -1 : 1))
  t.strictSame(byJti(listed.items), byJti([view(first, true, false), view(second, false, false)]), 'one revoked, one live')
  t.equal(listed.next_cursor, null)

  const res = await adminCall(app, admin, 'POST', `/admin/identities/${client.id}/revoke-sessions`, { reason: 'laptop stolen' })
  t.equal(res.statusCode, 200)
  t.strictSame(res.json(), { epoch: 2 })
  assertNoStore(t, res)
  const third = (await requestToken(app, client.clientId, client.secret)).json().access_token
  t.equal(decodePayload(third).epoch, 2, 'new tokens carry the new epoch')
  const after = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${client.id}/sessions`), 200)
  t.strictSame(byJti(after.items), byJti([view(first, true, true), view(second, false, true), view(third, false, false)]), 'earlier sessions are stale')
  t.strictSame(expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${client.id}/revoke-sessions`), 200), { epoch: 3 }, 'no body needed; bumps again')
  t.strictSame((await epochEvents(app, client.id)).map((e) => [e.epoch, e.reason]), [[2, 'sessions_revoked'], [3, 'sessions_revoked']])

  const page1 = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${client.id}/sessions?limit=2`), 200)
  t.equal(page1.items.length, 2, 'limit')
  const page2 = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${client.id}/sessions?limit=2&cursor=${page1.next_cursor as string}`), 200)
  t.strictSame([...page1.items, ...page2.items].map((s: any) => s.jti).sort(), after.items.map((s: any) => s.jti).sort(), 'cursor pages through all')
  t.equal(page2.next_cursor, null)

  // An expired session is not listed: inserted directly, already past its exp.
  const expired = await app.tally.db.selectFrom('sessions').selectAll().where('jti', '=', decodePayload(third).jti).executeTakeFirstOrThrow()
  await app.tally.db.insertInto('sessions').values({ ...expired, jti: '00000000-0000-4000-8000-00000000e0e0', iat: new Date(Date.now() - 7_200_000), exp: new Date(Date.now() - 3_600_000) }).execute()
  const withExpired = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${client.id}/sessions`), 200)
  t.notOk(withExpired.items.some((s: any) => s.jti === '00000000-0000-4000-8000-00000000e0e0'), 'expired sessions are not listed')

  t.equal((await adminCall(app, admin, 'POST', '/admin/identities/nobody-at-all/revoke-sessions', {})).statusCode, 404, 'unknown identity')
})

t.test('audit: one row per change, actor = the admin UUID, with before/after; identity=, after=, limit= paging', async (t) => {
  const { identifier: resource } = await createResource(app, admin, { scopes: ['read', 'write'] })
  const client = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const [ent] = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${client.id}`), 200).entitlements
  expectStatus(await adminCall(app, admin, 'PUT', `/admin/identities/${client.id}/entitlements`, [{ resource, scopes: ['read', 'write'] }]), 200)
  const [replaced] = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${client.id}`), 200).entitlements
  expectStatus(await adminCall(app, admin, 'DELETE', `/admin/identities/${client.id}/entitlements/${replaced.id as string}`), 204)
  expectStatus(await adminCall(app, admin, 'PATCH', `/admin/identities/${client.id}`, { status: 'disabled' }), 200)
  expectStatus(await adminCall(app, admin, 'PATCH', `/admin/identities/${client.id}`, { status: 'active' }), 200)
  expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${client.id}/revoke-sessions`, {}), 200)
  expectStatus(await adminCall(app, admin, 'DELETE', `/admin/identities/${client.id}/credentials/${client.secretId}`), 204)
  expectStatus(await adminCall(app, admin, 'DELETE', `/admin/identities/${client.id}`), 204)

  const res = await adminCall(app, admin, 'GET', `/admin/audit?identity=${client.id}`)
  t.equal(res.statusCode, 200)
  assertNoStore(t, res)
  const items = res.json().items
  t.strictSame(items.map((a: any) => a.action), [
    'identity.create', 'credential.create', 'entitlement.create', 'entitlements.replace', 'entitlement.delete',
    'identity.update', 'identity.update', 'sessions.revoke', 'credential.revoke', 'identity.delete'
  ], 'every change, in order')
  for (const a of items) {
    t.strictSame(Object.keys(a).sort(), ['action', 'actor', 'after', 'at', 'before', 'id', 'identity'], `${a.action as string}: shape`)
    t.equal(a.actor, adminId, `${a.action as string}: actor`)
    t.equal(a.identity, client.id, `${a.action as string}: identity`)
    t.match(a.at, /^\d{4}-\d\d-\d\dT/, `${a.action as string}: at`)
  }
  const [create, secret, entCreate, replace, entDelete, disable, enable, sessions, credRevoke, del] = items
  t.match(create.after, { id: client.id, client_id: client.clientId, status: 'active' }, 'identity.create after')
  t.equal(create.before, null, 'identity.create before')
  t.match(secret.after, { id: client.secretId, type: 'client_secret' }, 'credential.create after')
  t.notOk(JSON.stringify(items).includes(client.secret), 'the secret is never audited')
  t.match(entCreate.after, { id: ent.id, resource, scopes: ['read'] }, 'entitlement.create after')
  t.strictSame([replace.before.map((e: any) => e.scopes), replace.after.map((e: any) => e.scopes)], [[['read']], [['read', 'write']]], 'entitlements.replace before/after')
  t.match(entDelete.before, { id: replaced.id, scopes: ['read', 'write'] }, 'entitlement.delete before')
  t.strictSame([disable.before.status, disable.after.status, disable.after.epoch], ['active', 'disabled', 3], 'disable before/after (epoch 2 came from the entitlement delete)')
  t.strictSame([enable.before.status, enable.after.status, enable.after.epoch], ['disabled', 'active', 3], 'enable before/after: no bump')
  t.strictSame([sessions.before, sessions.after], [{ epoch: 3 }, { epoch: 4, reason: null }], 'sessions.revoke before/after')
  t.match(credRevoke.before, { id: client.secretId, revoked_at: null }, 'credential.revoke before')
  t.match(del.before, { id: client.id, status: 'active' }, 'identity.delete before')

  const byClientId = expectStatus(await adminCall(app, admin, 'GET', `/admin/audit?identity=${client.id}&limit=3`), 200)
  t.equal(byClientId.items.length, 3, 'limit')
  t.equal(byClientId.next_cursor, String(byClientId.items[2].id), 'next_cursor is the last id')
  const collected: any[] = []
  let after: string | null = null
  let pages = 0
  do {
    const page: any = expectStatus(await adminCall(app, admin, 'GET', `/admin/audit?identity=${client.id}&limit=3${after === null ? '' : `&after=${after}`}`), 200)
    collected.push(...page.items)
    after = page.next_cursor
    pages++
  } while (after !== null && pages < 10)
  t.strictSame(collected, items, 'after= pages through the same rows')
  t.equal(pages, 4, '10 rows at 3 a page')
  const ids = collected.map((a) => a.id)
  t.strictSame(ids, [...ids].sort((a, b) => a - b), 'oldest first')

  const all = expectStatus(await adminCall(app, admin, 'GET', `/admin/audit?after=${items[0].id as number}&limit=1`), 200)
  t.ok(all.items[0].id > items[0].id, 'after= without identity')
  const bad: Array<{ query: string, description: string }> = [
    { query: 'identity=nobody-at-all', description: 'identity: unknown identity' },
    { query: 'after=abc', description: 'querystring/after must match pattern "^[0-9]{1,18}$"' },
    { query: 'limit=0', description: 'querystring/limit must match pattern "^[1-9][0-9]{0,2}$"' }
  ]
  for (const c of bad) {
    const r = await adminCall(app, admin, 'GET', `/admin/audit?${c.query}`)
    t.equal(r.statusCode, 400, c.query)
    t.strictSame(r.json(), { error: 'invalid_request', error_description: c.description }, c.query)
  }
})
