// The token-exchange grant (RFC 8693, docs/reference/delegation.md): the two-hop chain subject → a → b, what the new tokens
// carry, every error with its exact status and body, and that every party of the chain stays live at
// /introspect: a bump of any party, a removed delegation, a revoked root, a disabled actor.
import t from '../support/tap.js'
import { adminCall, adminToken, basic, build, decodePayload, form, FORM_TYPE } from '../helper.js'
import { createClient, epochOf, expectStatus } from '../support/admin.js'
import { introspection, tokenFor } from '../support/oauth.js'
import { ACCESS_TOKEN_TYPE, chainFixture, delegate, exchange, exchanged, TOKEN_EXCHANGE, type Chain } from './fixture.js'

const app = await build(t)
const admin = await adminToken(app)

t.test('a two-hop chain: claims, response and introspection', async (t) => {
  const c = await chainFixture(app, admin)
  const root = await tokenFor(app, c.subject, { resource: c.resource })
  const res = await exchange(app, c.a, root, { resource: c.resource, scope: 'read write' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.strictSame(Object.keys(body).sort(), ['access_token', 'expires_in', 'issued_token_type', 'scope', 'token_type'])
  t.match(body, { issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', scope: 'read write' })
  const hop1 = decodePayload(body.access_token)
  t.match(hop1, { sub: c.subject.id, client_id: c.a.clientId, aud: c.resource, epoch: 1, act: { sub: c.a.id, client_id: c.a.clientId, epoch: 1 } })
  t.equal(hop1.act.act, undefined)
  t.ok(hop1.exp <= decodePayload(root).exp, 'exp never past the subject token')

  const hop2 = await exchanged(app, c.b, body.access_token)
  const claims = decodePayload(hop2)
  t.strictSame(claims.act, { sub: c.b.id, client_id: c.b.clientId, epoch: 1, act: { sub: c.a.id, client_id: c.a.clientId, epoch: 1 } }, 'act nested per RFC 8693 §4.1')
  t.equal(claims.scope, 'read', 'narrowed to the second delegation')
  t.strictSame(claims.entitlements, [{ resource: c.resource, scopes: ['read'] }])
  const seen = await introspection(app, c.rs, hop2)
  t.match(seen, { active: true, sub: c.subject.id, client_id: c.b.clientId, scope: 'read', act: claims.act }, 'introspection returns act')
})

t.test('exchange errors: exact status and body', async (t) => {
  const c = await chainFixture(app, admin)
  const root = await tokenFor(app, c.subject, { resource: c.resource })
  const cases: Array<[string, Promise<any>, number, object]> = [
    ['no subject_token', app.inject({ method: 'POST', url: '/token', headers: { authorization: basic(c.a.clientId, c.a.secret), 'content-type': FORM_TYPE }, payload: form({ grant_type: TOKEN_EXCHANGE, subject_token_type: ACCESS_TOKEN_TYPE }) }),
      400, { error: 'invalid_request', error_description: 'subject_token is required' }],
    ['bad subject_token_type', exchange(app, c.a, root, { subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' }),
      400, { error: 'invalid_request', error_description: 'subject_token_type must be urn:ietf:params:oauth:token-type:access_token or urn:ietf:params:oauth:token-type:jwt' }],
    ['requested refresh token', exchange(app, c.a, root, { requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }),
      400, { error: 'invalid_request', error_description: 'requested_token_type: only urn:ietf:params:oauth:token-type:access_token is issued' }],
    ['garbage subject token', exchange(app, c.a, 'not-a-token'), 400, { error: 'invalid_grant', error_description: 'subject_token is not an active access token' }],
    ['no delegation (b from the subject directly)', exchange(app, c.b, root), 400, { error: 'invalid_grant', error_description: 'no active delegation from the subject token\'s holder to this client' }],
    ['scope outside the delegation', exchange(app, c.a, root, { scope: 'admin' }), 400, { error: 'invalid_scope', error_description: 'requested scope is not allowed' }],
    ['resource outside', exchange(app, c.a, root, { resource: 'https://elsewhere.example' }), 400, { error: 'invalid_target', error_description: 'the delegation chain does not cover the requested resource' }],
    ['actor_token of another client', exchange(app, c.a, root, { actor_token: root, actor_token_type: ACCESS_TOKEN_TYPE }), 400, { error: 'invalid_grant', error_description: 'actor_token is not an active access token of the authenticated client' }],
    ['actor_token without its type', exchange(app, c.a, root, { actor_token: root }), 400, { error: 'invalid_request', error_description: 'actor_token_type is required with actor_token' }],
    ['wrong actor secret', exchange(app, { ...c.a, secret: 'tly_wrong' }, root), 401, { error: 'invalid_client', error_description: 'client authentication failed' }]
  ]
  const results = await Promise.all(cases.map(async ([, p]) => await p))
  results.forEach((res, i) => {
    const [what, , status, body] = cases[i] as [string, unknown, number, object]
    t.equal(res.statusCode, status, `${what}: status`)
    t.strictSame(res.json(), body, `${what}: body`)
  })
})

t.test('a chain deeper than four actors is invalid_grant', async (t) => {
  const resource = (await chainFixture(app, admin)).resource
  const subject = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const actors = [subject]
  for (let i = 0; i < 5; i++) {
    const next = await createClient(app, admin, { kind: 'agent' })
    await delegate(app, admin, actors[actors.length - 1]!, next, { resource, scopes: ['read'] })
    actors.push(next)
  }
  let token = await tokenFor(app, subject, { resource })
  for (let i = 1; i <= 4; i++) token = await exchanged(app, actors[i]!, token)
  t.equal(decodePayload(token).act.act.act.act.sub, actors[1]!.id, 'four actors nested')
  const res = await exchange(app, actors[5]!, token)
  t.equal(res.statusCode, 400)
  t.strictSame(res.json(), { error: 'invalid_grant', error_description: 'the delegation chain would be deeper than 4' })
})

// Each way a party of subject → a → b can lose access makes the derived tokens inactive at once.
const narrowings: Array<[string, (c: Chain) => Promise<void>, boolean]> = [
  ['the subject is bumped', async (c) => { expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${c.subject.id}/revoke-sessions`, {}), 200) }, false],
  ['actor a is bumped', async (c) => { expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${c.a.id}/revoke-sessions`, {}), 200) }, false],
  ['actor b is bumped', async (c) => { expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${c.b.id}/revoke-sessions`, {}), 200) }, true],
  ['actor b is disabled', async (c) => { expectStatus(await adminCall(app, admin, 'PATCH', `/admin/identities/${c.b.id}`, { status: 'disabled' }), 200) }, true],
  ['actor a is deleted', async (c) => { expectStatus(await adminCall(app, admin, 'DELETE', `/admin/identities/${c.a.id}`), 204) }, false],
  ['delegation subject→a is deleted', async (c) => { expectStatus(await adminCall(app, admin, 'DELETE', `/admin/identities/${c.subject.id}/delegations/${c.sa.id as string}`), 204) }, false],
  ['delegation a→b is deleted', async (c) => { expectStatus(await adminCall(app, admin, 'DELETE', `/admin/identities/${c.a.id}/delegations/${c.ab.id as string}`), 204) }, true],
  ['delegation a→b is narrowed', async (c) => { expectStatus(await adminCall(app, admin, 'PATCH', `/admin/identities/${c.a.id}/delegations/${c.ab.id as string}`, { scopes: ['write'] }), 200) }, true]
]
for (const [what, narrow, hop1Survives] of narrowings) {
  t.test(`${what}: the derived tokens are inactive at once`, async (t) => {
    const c = await chainFixture(app, admin)
    const root = await tokenFor(app, c.subject, { resource: c.resource })
    const hop1 = await exchanged(app, c.a, root)
    const hop2 = await exchanged(app, c.b, hop1)
    t.equal((await introspection(app, c.rs, hop2)).active, true, 'active before')
    await narrow(c)
    t.strictSame(await introspection(app, c.rs, hop2), { active: false }, 'hop 2 inactive')
    t.equal((await introspection(app, c.rs, hop1)).active, hop1Survives, hop1Survives ? 'hop 1 does not depend on b' : 'hop 1 inactive')
  })
}

t.test('revoking the root token revokes every token exchanged from it, with feed events', async (t) => {
  const c = await chainFixture(app, admin)
  const root = await tokenFor(app, c.subject, { resource: c.resource })
  const hop1 = await exchanged(app, c.a, root)
  const hop2 = await exchanged(app, c.b, hop1)
  const res = await app.inject({ method: 'POST', url: '/revoke', headers: { authorization: basic(c.subject.clientId, c.subject.secret), 'content-type': FORM_TYPE }, payload: form({ token: root }) })
  t.equal(res.statusCode, 200)
  t.strictSame([await introspection(app, c.rs, hop1), await introspection(app, c.rs, hop2)], [{ active: false }, { active: false }])
  const revoked = await app.tally.db.selectFrom('epoch_events').select('jti').where('type', '=', 'revoked')
    .where('jti', 'in', [decodePayload(hop1).jti, decodePayload(hop2).jti]).execute()
  t.equal(revoked.length, 2, 'a revoked event for each derived token')
})

t.test('Keycloak #52691: a re-exchange cannot drop a party, nor outlive a disabled actor', async (t) => {
  const c = await chainFixture(app, admin)
  // The subject also delegates straight to b, so b might try to re-exchange its hop-2 token to shed a.
  await delegate(app, admin, c.subject, c.b, { resource: c.resource, scopes: ['read'] })
  const root = await tokenFor(app, c.subject, { resource: c.resource })
  const hop2 = await exchanged(app, c.b, await exchanged(app, c.a, root))
  const res = await exchange(app, c.b, hop2)
  t.strictSame([res.statusCode, res.json()], [400, { error: 'invalid_grant', error_description: 'no active delegation from the subject token\'s holder to this client' }],
    'b, the holder of its own delegated token, has no delegation from itself: a cannot be dropped')
  expectStatus(await adminCall(app, admin, 'PATCH', `/admin/identities/${c.a.id}`, { status: 'disabled' }), 200)
  t.strictSame(await introspection(app, c.rs, hop2), { active: false }, 'the token naming a disabled a is dead')
  const again = await exchange(app, c.b, hop2)
  t.strictSame([again.statusCode, again.json()], [400, { error: 'invalid_grant', error_description: 'subject_token is not an active access token' }], 'and cannot be re-exchanged')
})

t.test('delegations admin API', async (t) => {
  const c = await chainFixture(app, admin)
  t.match(c.sa, { subject: c.subject.id, actor: c.a.id, actor_client_id: c.a.clientId, resource: c.resource, scopes: ['read', 'write'], expires_at: null })
  const given = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${c.subject.clientId}/delegations`), 200)
  t.strictSame(given.items.map((d: any) => d.id), [c.sa.id])
  const received = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${c.a.id}/delegations?as=actor`), 200)
  t.strictSame(received.items.map((d: any) => d.id), [c.sa.id])
  const bad = await adminCall(app, admin, 'POST', `/admin/identities/${c.subject.id}/delegations`, { actor: c.a.clientId, resource: c.resource, scopes: ['nope'] })
  t.strictSame([bad.statusCode, bad.json()], [400, { error: 'invalid_request', error_description: `scopes: nope is not a scope of ${c.resource}` }])
  const noActor = await adminCall(app, admin, 'POST', `/admin/identities/${c.subject.id}/delegations`, { resource: c.resource, scopes: ['read'] })
  t.equal(noActor.statusCode, 400)
  t.match(noActor.json().error_description, /actor/)
  const missing = await adminCall(app, admin, 'DELETE', `/admin/identities/${c.subject.id}/delegations/00000000-0000-4000-8000-000000000000`)
  t.strictSame([missing.statusCode, missing.json()], [404, { error: 'not_found', error_description: 'delegation not found' }])
  const before = await epochOf(app, c.a.id)
  expectStatus(await adminCall(app, admin, 'PATCH', `/admin/identities/${c.subject.id}/delegations/${c.sa.id as string}`, { reason: 'just a note' }), 200)
  t.equal(await epochOf(app, c.a.id), before, 'a reason change does not bump')
  expectStatus(await adminCall(app, admin, 'PATCH', `/admin/identities/${c.subject.id}/delegations/${c.sa.id as string}`, { expires_at: new Date(Date.now() + 3600_000).toISOString() }), 200)
  t.equal(await epochOf(app, c.a.id), before + 1, 'bringing the expiry forward bumps the actor')
  const audit = expectStatus(await adminCall(app, admin, 'GET', `/admin/audit?identity=${c.subject.id}`), 200)
  t.ok(['delegation.create', 'delegation.update'].every((a) => audit.items.some((e: any) => e.action === a)), 'audited')
  const reader = await adminToken(app, 'admin:read')
  const forbidden = await adminCall(app, reader, 'POST', `/admin/identities/${c.subject.id}/delegations`, { actor: c.b.clientId, resource: c.resource, scopes: ['read'] })
  t.equal(forbidden.statusCode, 403)
})

t.test('exp is capped by the delegation\'s expiry; the grant is in the metadata; the actor may revoke its token', async (t) => {
  const c = await chainFixture(app, admin)
  const expiresAt = Math.floor(Date.now() / 1000) + 90
  expectStatus(await adminCall(app, admin, 'PATCH', `/admin/identities/${c.subject.id}/delegations/${c.sa.id as string}`, { expires_at: new Date(expiresAt * 1000).toISOString() }), 200)
  const root = await tokenFor(app, c.subject, { resource: c.resource })
  const res = await exchange(app, c.a, root)
  const hop1 = expectStatus(res, 200)
  t.equal(decodePayload(hop1.access_token).exp, expiresAt, 'exp = the delegation\'s expires_at')
  t.ok(hop1.expires_in <= 90, 'expires_in follows')

  const metadata = (await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json()
  t.ok(metadata.grant_types_supported.includes(TOKEN_EXCHANGE), 'RFC 8414 metadata lists token exchange')

  const other = await createClient(app, admin)
  const refused = await app.inject({ method: 'POST', url: '/revoke', headers: { authorization: basic(other.clientId, other.secret), 'content-type': FORM_TYPE }, payload: form({ token: hop1.access_token }) })
  t.equal(refused.statusCode, 400, 'a stranger may not revoke it')
  const revoked = await app.inject({ method: 'POST', url: '/revoke', headers: { authorization: basic(c.a.clientId, c.a.secret), 'content-type': FORM_TYPE }, payload: form({ token: hop1.access_token }) })
  t.equal(revoked.statusCode, 200, 'the actor it was issued to revokes it (RFC 7009 §2.1)')
  t.strictSame(await introspection(app, c.rs, hop1.access_token), { active: false })
  t.equal((await introspection(app, c.rs, root)).active, true, 'the subject token it came from stays active')
})

t.test('scopes are the intersection of the request, the subject\'s live entitlements and every delegation', async (t) => {
  const c = await chainFixture(app, admin)
  // The delegation offers admin, which the subject does not hold: never granted.
  await delegate(app, admin, c.subject, c.b, { resource: c.resource, scopes: ['write', 'admin'] })
  const root = await tokenFor(app, c.subject, { resource: c.resource, scope: 'read' })
  t.equal(expectStatus(await exchange(app, c.b, root), 200).scope, 'write', 'not the subject token\'s scope, but what the chain allows')
  const res = await exchange(app, c.b, root, { scope: 'admin' })
  t.strictSame([res.statusCode, res.json()], [400, { error: 'invalid_scope', error_description: 'requested scope is not allowed' }])
})

t.test('a NUL in a delegation\'s text fields is a 400 naming the field, never a 5xx', async (t) => {
  const c = await chainFixture(app, admin)
  const res = await adminCall(app, admin, 'POST', `/admin/identities/${c.subject.id}/delegations`, { actor: c.b.clientId, resource: c.resource, scopes: ['read'], reason: 'a\u0000b' })
  t.equal(res.statusCode, 400)
  t.match(res.json(), { error: 'invalid_request', error_description: /reason/ })
  const actor = await adminCall(app, admin, 'POST', `/admin/identities/${c.subject.id}/delegations`, { actor: 'x\u0000', resource: c.resource, scopes: ['read'] })
  t.match([actor.statusCode, actor.json()], [400, { error: 'invalid_request', error_description: /actor/ }])
  const exchangeNul = await exchange(app, c.a, 'a\u0000b')
  t.equal(exchangeNul.statusCode, 400, 'a NUL in subject_token is a client error')
})
