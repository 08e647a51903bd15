import t from '../support/tap.js'
import type { FastifyInstance } from 'fastify'
import { adminCall, adminToken, basic, build, decodeHeader, form, FORM_TYPE } from '../helper.js'

async function introspectAsAdmin (app: FastifyInstance, token: string): Promise<Record<string, unknown>> {
  const { ADMIN_SECRET } = await import('../helper.js')
  const res = await app.inject({ method: 'POST', url: '/introspect', headers: { authorization: basic('admin', ADMIN_SECRET), 'content-type': FORM_TYPE }, payload: form({ token }) })
  return res.json()
}

async function jwksKids (app: FastifyInstance): Promise<string[]> {
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  return res.json().keys.map((k: { kid: string }) => k.kid)
}

t.test('a normal rotation publishes the next key before it signs, and keeps the old one published', async (t) => {
  const app = await build(t, { KEY_PREPUBLICATION_S: '3600' })
  const before = await adminToken(app)
  const oldKid = decodeHeader(before).kid
  const res = await adminCall(app, before, 'POST', '/admin/keys/rotate', {})
  t.equal(res.statusCode, 200)
  const { kid, retired, removed } = res.json()
  t.not(kid, oldKid)
  t.strictSame(removed, [])
  t.ok(retired.includes(oldKid))
  t.strictSame((await jwksKids(app)).sort(), [oldKid, kid].sort(), 'both keys are published')
  const after = await adminToken(app)
  t.equal(decodeHeader(after).kid, oldKid, 'the new key does not sign before its pre-publication delay')
  t.equal((await introspectAsAdmin(app, before)).active, true)
})

t.test('a rotation with no pre-publication delay signs with the new key; old tokens stay valid', async (t) => {
  const app = await build(t, { KEY_PREPUBLICATION_S: '0' })
  const before = await adminToken(app)
  const res = await adminCall(app, before, 'POST', '/admin/keys/rotate', {})
  t.equal(res.statusCode, 200)
  const after = await adminToken(app)
  t.equal(decodeHeader(after).kid, res.json().kid)
  t.equal((await introspectAsAdmin(app, before)).active, true, 'a token signed by the retired key is still active')
  t.ok((await jwksKids(app)).includes(decodeHeader(before).kid), 'the retired key stays in the JWKS until its tokens expire')
})

t.test('an emergency rotation removes the old key and makes its tokens inactive at once', async (t) => {
  const app = await build(t)
  const before = await adminToken(app)
  const oldKid = decodeHeader(before).kid
  const res = await adminCall(app, before, 'POST', '/admin/keys/rotate', { emergency: true })
  t.equal(res.statusCode, 200)
  t.ok(res.json().removed.includes(oldKid))
  t.strictSame(await introspectAsAdmin(app, before), { active: false })
  t.notOk((await jwksKids(app)).includes(oldKid), 'the removed key is gone from the JWKS')
  const after = await adminToken(app)
  t.equal(decodeHeader(after).kid, res.json().kid)
  t.equal((await adminCall(app, before, 'GET', '/admin/identities')).statusCode, 401, 'the old admin token no longer works')
})

t.test('rotation needs admin:write', async (t) => {
  const app = await build(t)
  const readOnly = await adminToken(app, 'admin:read')
  const res = await adminCall(app, readOnly, 'POST', '/admin/keys/rotate', {})
  t.equal(res.statusCode, 403)
  t.equal(res.json().error, 'insufficient_scope')
})
