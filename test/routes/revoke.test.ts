// POST /revoke (RFC 7009, docs/reference/endpoints.md): a client revokes its own tokens, admin:revoke revokes any token or
// every session of an identity (`identity=`), and nothing else is revoked. Revocations are durable,
// published to the epoch feed and the audit log, and visible in the admin sessions view.
import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import t from '../support/tap.js'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { ADMIN_SECRET, ISSUER, adminCall, adminToken, build, decodePayload, encodeSegment, form, FORM_TYPE } from '../helper.js'
import { createClient, createResource, grant, type TestClient } from '../support/admin.js'
import { introspectAs, mintRecorded, revokeAs, tokenFor } from '../support/oauth.js'

const app: FastifyInstance = await build(t)
const admin = await adminToken(app)
const rs = await createClient(app, admin, { kind: 'resource_server' })
const api = await createResource(app, admin, { scopes: ['read', 'write'], introspectors: [rs.clientId] })
const adminCaller = { clientId: 'admin', secret: ADMIN_SECRET }
const { db } = app.tally

async function freshSvc (): Promise<{ svc: TestClient, token: string }> {
  const svc = await createClient(app, admin)
  await grant(app, admin, svc.id, api.identifier, ['read', 'write'])
  return { svc, token: await tokenFor(app, svc, { resource: api.identifier }) }
}

async function activeState (token: string): Promise<boolean> {
  const res = await introspectAs(app, rs, token)
  if (res.statusCode !== 200) throw new Error(`introspect: ${res.statusCode} ${res.body}`)
  return res.json().active === true
}

function assertRevokedOk (t: Test, res: LightMyRequestResponse, msg: string): void {
  t.equal(res.statusCode, 200, `${msg}: 200`)
  t.strictSame(res.json(), {}, `${msg}: {} (simple-oauth2 cannot parse an empty body)`)
  t.match(res.headers['content-type'], /^application\/json/, `${msg}: application/json`)
  t.equal(res.headers['cache-control'], 'no-store', `${msg}: no-store`)
  t.equal(res.headers.pragma, 'no-cache', `${msg}: no-cache`)
}

function assertUnauthorizedClient (t: Test, res: LightMyRequestResponse, msg: string): void {
  t.equal(res.statusCode, 400, `${msg}: 400`)
  t.equal(res.json().error, 'unauthorized_client', `${msg}: unauthorized_client`)
  t.type(res.json().error_description, 'string', `${msg}: with a description`)
  t.strictSame(Object.keys(res.json()).sort(), ['error', 'error_description'], `${msg}: nothing else`)
}

const countSessionsRevoked = async (jti: string): Promise<number> =>
  (await db.selectFrom('sessions').select('jti').where('jti', '=', jti).where('revoked_at', 'is not', null).execute()).length

t.test('a client revokes its own token: 200, empty body, then inactive everywhere', async (t) => {
  const { svc, token } = await freshSvc()
  const sibling = await tokenFor(app, svc, { resource: api.identifier })
  t.ok(await activeState(token), 'active before')
  const res = await revokeAs(app, svc, { token })
  assertRevokedOk(t, res, 'own token')
  t.strictSame((await introspectAs(app, rs, token)).json(), { active: false }, 'inactive to the introspector')
  t.strictSame((await introspectAs(app, adminCaller, token)).json(), { active: false }, 'inactive to an admin')
  t.ok(await activeState(sibling), 'the identity\'s other token is untouched (no epoch bump)')
  assertRevokedOk(t, await revokeAs(app, svc, { token }), 'revoking again is still 200')
  t.equal(await countSessionsRevoked(decodePayload(token).jti), 1)
})

t.test('token_type_hint is accepted and does not change the outcome', async (t) => {
  const { svc, token } = await freshSvc()
  assertRevokedOk(t, await revokeAs(app, svc, { token, token_type_hint: 'refresh_token' }), 'wrong hint')
  t.notOk(await activeState(token))
})

t.test('client_secret_post works for revocation', async (t) => {
  const { svc, token } = await freshSvc()
  const res = await app.inject({ method: 'POST', url: '/revoke', headers: { 'content-type': FORM_TYPE }, payload: form({ token, client_id: svc.clientId, client_secret: svc.secret }) })
  assertRevokedOk(t, res, 'client_secret_post')
  t.notOk(await activeState(token))
})

t.test('unknown, malformed and expired tokens are 200 and change nothing', async (t) => {
  const { svc, token } = await freshSvc()
  const claims = decodePayload(token)
  const expired = await mintRecorded(app, {
    identityId: svc.id, resource: api.identifier, claims: { ...claims, jti: randomUUID(), iat: claims.iat - 600, exp: claims.iat - 300 }, sessionEpoch: 1, exp: claims.iat - 300
  })
  const [h, , s] = token.split('.') as [string, string, string]
  const cases: Array<[string, string]> = [
    ['garbage', 'garbage'],
    ['three segments of junk', 'a.b.c'],
    ['an unknown jti', `${h}.${encodeSegment({ ...claims, jti: randomUUID() })}.${s}`],
    ['an unknown jti for another identity', `${h}.${encodeSegment({ ...claims, sub: rs.id, jti: randomUUID() })}.${s}`],
    ['a forgery naming a real jti', `${h}.${encodeSegment({ ...claims, scope: 'read' })}.${s}`],
    ['an expired token', expired]
  ]
  const before = await db.selectFrom('epoch_events').select(db.fn.countAll().as('n')).executeTakeFirstOrThrow()
  for (const [name, value] of cases) assertRevokedOk(t, await revokeAs(app, svc, { token: value }), name)
  const after = await db.selectFrom('epoch_events').select(db.fn.countAll().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(after.n), Number(before.n), 'no feed event for any of them')
  t.ok(await activeState(token), 'the real token (whose jti a forgery named) is still active')
  t.equal(await countSessionsRevoked(claims.jti), 0)
})

t.test('a token is required', async (t) => {
  const { svc } = await freshSvc()
  const res = await revokeAs(app, svc, {})
  t.equal(res.statusCode, 400)
  t.strictSame(res.json(), { error: 'invalid_request', error_description: 'token is required' })
})

t.test('unauthenticated revocation is 401 invalid_client and revokes nothing', async (t) => {
  const { svc, token } = await freshSvc()
  for (const [name, caller] of [['none', undefined], ['wrong secret', { clientId: svc.clientId, secret: svc.secret + 'x' }]] as const) {
    const res = await revokeAs(app, caller, { token })
    t.equal(res.statusCode, 401, name)
    t.strictSame(res.json(), { error: 'invalid_client', error_description: 'client authentication failed' }, name)
    t.equal(res.headers['www-authenticate'], `Basic realm="${ISSUER}"`, name)
  }
  t.ok(await activeState(token))
})

t.test('another client\'s token, by a non-admin: 400 unauthorized_client, token untouched', async (t) => {
  const { token } = await freshSvc()
  const { svc: intruder } = await freshSvc()
  assertUnauthorizedClient(t, await revokeAs(app, intruder, { token }), 'another client\'s token')
  assertUnauthorizedClient(t, await revokeAs(app, rs, { token }), 'even by an introspector of its audience')
  // admin:read and admin:write do not confer admin:revoke.
  const readerWriter = await createClient(app, admin)
  await grant(app, admin, readerWriter.id, 'urn:tally:admin', ['admin:read', 'admin:write'])
  assertUnauthorizedClient(t, await revokeAs(app, readerWriter, { token }), 'an admin without admin:revoke')
  t.ok(await activeState(token), 'still active')
  t.equal(await countSessionsRevoked(decodePayload(token).jti), 0, 'not marked revoked')
})

t.test('admin:revoke revokes any token', async (t) => {
  const { token } = await freshSvc()
  const revoker = await createClient(app, admin)
  await grant(app, admin, revoker.id, 'urn:tally:admin', ['admin:revoke'])
  assertRevokedOk(t, await revokeAs(app, revoker, { token }), 'a revoke-only admin')
  t.notOk(await activeState(token))
  const { token: second } = await freshSvc()
  assertRevokedOk(t, await revokeAs(app, adminCaller, { token: second }), 'the bootstrap admin')
  t.notOk(await activeState(second))
})

t.test('identity=<client_id or UUID> from an admin revokes every session (epoch bump)', async (t) => {
  for (const by of ['client_id', 'UUID'] as const) {
    await t.test(by, async (t) => {
      const { svc, token } = await freshSvc()
      const second = await tokenFor(app, svc, { resource: api.identifier })
      const res = await revokeAs(app, adminCaller, { identity: by === 'UUID' ? svc.id : svc.clientId })
      assertRevokedOk(t, res, `identity by ${by}`)
      t.notOk(await activeState(token), 'first token inactive')
      t.notOk(await activeState(second), 'second token inactive')
      const identity = await adminCall(app, admin, 'GET', `/admin/identities/${svc.id}`)
      t.equal(identity.json().epoch, 2, 'the epoch was bumped once')
      const fresh = await tokenFor(app, svc, { resource: api.identifier })
      t.equal(decodePayload(fresh).epoch, 2)
      t.ok(await activeState(fresh), 'a new token works')
      const event = await db.selectFrom('epoch_events').selectAll().where('identity_id', '=', svc.id).where('type', '=', 'epoch').execute()
      t.equal(event.length, 1, 'one epoch event')
      t.equal(event[0]?.epoch, 2)
      t.equal(event[0]?.reason, 'sessions_revoked')
      const audit = await db.selectFrom('audit_events').selectAll().where('identity_id', '=', svc.id).where('action', '=', 'sessions.revoke').execute()
      t.equal(audit.length, 1, 'one audit row')
      t.equal(audit[0]?.actor, (await adminCall(app, admin, 'GET', '/admin/identities/admin')).json().id, 'the actor is the admin')
    })
  }
})

t.test('identity= needs no token parameter', async (t) => {
  const { svc, token } = await freshSvc()
  const revoker = await createClient(app, admin)
  await grant(app, admin, revoker.id, 'urn:tally:admin', ['admin:revoke'])
  assertRevokedOk(t, await revokeAs(app, revoker, { identity: svc.clientId }), 'by a revoke-only admin')
  t.notOk(await activeState(token))
})

t.test('identity= from a non-admin: 400 unauthorized_client, nothing revoked', async (t) => {
  const { svc, token } = await freshSvc()
  const { svc: intruder, token: intruderToken } = await freshSvc()
  const readerWriter = await createClient(app, admin)
  await grant(app, admin, readerWriter.id, 'urn:tally:admin', ['admin:read', 'admin:write'])
  const cases: Array<[string, TestClient, string]> = [
    ['another identity by client_id', intruder, svc.clientId],
    ['another identity by UUID', intruder, svc.id],
    ['itself', intruder, intruder.clientId],
    ['an admin without admin:revoke', readerWriter, svc.clientId]
  ]
  for (const [name, caller, identity] of cases) assertUnauthorizedClient(t, await revokeAs(app, caller, { identity }), name)
  // With a token too: the identity parameter still needs admin:revoke, and the token is not revoked either.
  assertUnauthorizedClient(t, await revokeAs(app, intruder, { identity: svc.clientId, token: intruderToken }), 'identity with its own token')
  t.ok(await activeState(token), 'the target\'s token is active')
  t.ok(await activeState(intruderToken), 'the caller\'s own token too')
  const identity = await adminCall(app, admin, 'GET', `/admin/identities/${svc.id}`)
  t.equal(identity.json().epoch, 1, 'no epoch bump')
  const events = await db.selectFrom('epoch_events').select('seq').where('identity_id', 'in', [svc.id, intruder.id]).execute()
  t.equal(events.length, 0, 'no feed events')
})

t.test('the revoked jti is kept until exp, in the feed and in the audit log', async (t) => {
  const { svc, token } = await freshSvc()
  const { jti, exp } = decodePayload(token)
  assertRevokedOk(t, await revokeAs(app, svc, { token }), 'own token')
  const row = await db.selectFrom('sessions').selectAll().where('jti', '=', jti).executeTakeFirst()
  t.ok(row, 'the session row is kept')
  t.not(row?.revoked_at, null, 'marked revoked')
  t.equal(Math.floor((row?.exp as Date).getTime() / 1000), exp, 'with the token\'s exp')
  const events = await db.selectFrom('epoch_events').selectAll().where('jti', '=', jti).execute()
  t.equal(events.length, 1, 'one revoked event')
  t.equal(events[0]?.type, 'revoked')
  t.equal(events[0]?.identity_id, svc.id)
  t.equal(Math.floor((events[0]?.exp as Date).getTime() / 1000), exp)
  const audit = await db.selectFrom('audit_events').selectAll().where('identity_id', '=', svc.id).where('action', '=', 'token.revoke').execute()
  t.equal(audit.length, 1, 'one audit row')
  t.equal(audit[0]?.actor, svc.id, 'the actor is the revoking client')
  t.match(audit[0]?.after, { jti })
  // The audit log is readable through the admin API too.
  const listed = await adminCall(app, admin, 'GET', `/admin/audit?identity=${svc.id}`)
  t.equal(listed.statusCode, 200)
  t.ok((listed.json().items as Array<{ action: string }>).some((e) => e.action === 'token.revoke'), 'GET /admin/audit lists it')
  // Revoking twice records once.
  await revokeAs(app, svc, { token })
  t.equal((await db.selectFrom('epoch_events').select('seq').where('jti', '=', jti).execute()).length, 1, 'a second revoke adds no event')
})

t.test('GET /admin/identities/:id/sessions marks revoked and stale sessions', async (t) => {
  const { svc, token: revoked } = await freshSvc()
  const live = await tokenFor(app, svc, { resource: api.identifier })
  assertRevokedOk(t, await revokeAs(app, svc, { token: revoked }), 'revoke one')
  type Item = { jti: string, epoch: number, resource: string, scope: string, iat: string, exp: string, credential_id: string | null, revoked: boolean, stale: boolean }
  const list = async (): Promise<Item[]> => {
    const res = await adminCall(app, admin, 'GET', `/admin/identities/${svc.clientId}/sessions`)
    t.equal(res.statusCode, 200)
    t.equal(res.headers['cache-control'], 'no-store')
    return res.json().items
  }
  const byJti = (items: Item[], token: string): Item | undefined => items.find((i) => i.jti === decodePayload(token).jti)
  let items = await list()
  t.equal(items.length, 2)
  const r = byJti(items, revoked)
  t.strictSame(Object.keys(r ?? {}).sort(), ['credential_id', 'epoch', 'exp', 'iat', 'jti', 'resource', 'revoked', 'scope', 'stale'])
  t.match(r, { epoch: 1, resource: api.identifier, scope: 'read write', credential_id: svc.secretId, revoked: true, stale: false })
  t.equal(r?.exp, new Date(decodePayload(revoked).exp * 1000).toISOString(), 'exp as RFC 3339')
  t.match(byJti(items, live), { revoked: false, stale: false })

  t.equal((await adminCall(app, admin, 'POST', `/admin/identities/${svc.id}/revoke-sessions`, {})).statusCode, 200)
  const fresh = await tokenFor(app, svc, { resource: api.identifier })
  items = await list()
  t.equal(items.length, 3)
  t.match(byJti(items, revoked), { revoked: true, stale: true })
  t.match(byJti(items, live), { revoked: false, stale: true })
  t.match(byJti(items, fresh), { epoch: 2, revoked: false, stale: false })

  // Expired sessions are not listed.
  const claims = decodePayload(fresh)
  await mintRecorded(app, { identityId: svc.id, resource: api.identifier, claims: { ...claims, jti: randomUUID(), exp: claims.iat - 1 }, sessionEpoch: 2, exp: claims.iat - 1 })
  t.equal((await list()).length, 3, 'an expired session is left out')
})

t.test('revoking an admin\'s token takes effect at its next admin request', async (t) => {
  const other = await createClient(app, admin, { kind: 'admin' })
  await grant(app, admin, other.id, 'urn:tally:admin', ['admin:read', 'admin:write'])
  const otherToken = await tokenFor(app, other, { resource: 'urn:tally:admin' })
  t.equal((await adminCall(app, otherToken, 'GET', '/admin/identities?limit=1')).statusCode, 200, 'works before')
  assertRevokedOk(t, await revokeAs(app, other, { token: otherToken }), 'the admin revokes its own token')
  const res = await adminCall(app, otherToken, 'GET', '/admin/identities?limit=1')
  t.equal(res.statusCode, 401, 'refused at the next request')
  t.equal(res.json().error, 'invalid_token')
  t.match(res.headers['www-authenticate'], /^Bearer /)

  // Narrowing its entitlements also takes effect at once.
  const second = await tokenFor(app, other, { resource: 'urn:tally:admin' })
  t.equal((await adminCall(app, second, 'GET', '/admin/identities?limit=1')).statusCode, 200)
  const put = await adminCall(app, admin, 'PUT', `/admin/identities/${other.id}/entitlements`, [{ resource: 'urn:tally:admin', scopes: ['admin:read'] }])
  t.equal(put.statusCode, 200)
  t.equal((await adminCall(app, second, 'GET', '/admin/identities?limit=1')).statusCode, 401, 'stale after narrowing')
})
