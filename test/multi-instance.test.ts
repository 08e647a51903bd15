// Two Tally instances on one Postgres, each with its own pool (docs/reference/endpoints.md "strictly consistent"): whatever
// one instance acknowledges — a revocation, a narrowing change, a disable — the other's very next
// introspection or admin bearer check reflects. Needs DATABASE_URL: PGlite cannot be shared.
import t from './support/tap.js'
import type { FastifyInstance } from 'fastify'
import { generateKeyPair, exportJWK } from 'jose'
import { ADMIN_SECRET, ISSUER, adminCall, adminToken, build, form, FORM_TYPE, sharedStore, testConfig } from './helper.js'
import { buildApp } from '../server/app.js'
import { openStore } from '../server/store/database.js'
import { createClient, createResource, grant, type TestClient } from './support/admin.js'
import { assertion, assertionParams, introspectAs, revokeAs, someAddress, tokenFor } from './support/oauth.js'

if (process.env.DATABASE_URL === undefined) {
  t.plan(0, 'two instances need a shared Postgres: set DATABASE_URL (skipped on PGlite)')
} else {
  const a: FastifyInstance = await build(t)
  const { databaseUrl } = await sharedStore(t)
  const storeB = await openStore({ databaseUrl, dataDir: 'memory://' })
  const b: FastifyInstance = await buildApp(testConfig({ DATABASE_URL: databaseUrl as string }), { store: storeB, logger: false })
  t.teardown(async () => { await b.close(); await storeB.close() })

  const adminA = await adminToken(a)
  const adminB = await adminToken(b)
  const rs = await createClient(a, adminA, { kind: 'resource_server' })
  const api = await createResource(a, adminA, { scopes: ['read', 'write'], introspectors: [rs.clientId] })
  const adminCaller = { clientId: 'admin', secret: ADMIN_SECRET }

  const fresh = async (): Promise<{ svc: TestClient, token: string }> => {
    const svc = await createClient(a, adminA)
    await grant(a, adminA, svc.id, api.identifier, ['read', 'write'])
    return { svc, token: await tokenFor(a, svc, { resource: api.identifier }) }
  }
  const active = async (app: FastifyInstance, token: string): Promise<boolean> => {
    const res = await introspectAs(app, rs, token)
    if (res.statusCode !== 200) throw new Error(`introspect: ${res.statusCode} ${res.body}`)
    return res.json().active === true
  }

  t.test('the instances really are separate: separate pools, one database', async (t) => {
    t.not(a.tally.store, b.tally.store)
    t.equal(b.tally.store.engine, 'postgres')
    const { svc } = await fresh()
    const seen = await adminCall(b, adminB, 'GET', `/admin/identities/${svc.clientId}`)
    t.equal(seen.statusCode, 200, 'B sees an identity created through A')
  })

  t.test('a token from A, revoked through B: A\'s next introspection says inactive', async (t) => {
    const { svc, token } = await fresh()
    t.ok(await active(a, token), 'active on A')
    t.ok(await active(b, token), 'active on B')
    const res = await revokeAs(b, svc, { token })
    t.equal(res.statusCode, 200)
    t.strictSame((await introspectAs(a, rs, token)).json(), { active: false }, 'inactive on A at once')
    t.strictSame((await introspectAs(a, adminCaller, token)).json(), { active: false }, 'to an admin on A too')
  })

  t.test('the reverse: revoked through A, inactive on B at once', async (t) => {
    const { token } = await fresh()
    t.ok(await active(b, token))
    t.equal((await revokeAs(a, adminCaller, { token })).statusCode, 200)
    t.strictSame((await introspectAs(b, rs, token)).json(), { active: false })
  })

  t.test('a narrowing change through A: B\'s next introspection says inactive', async (t) => {
    const changes: Array<[string, (id: string) => Promise<number>]> = [
      ['PUT that narrows', async (id) => (await adminCall(a, adminA, 'PUT', `/admin/identities/${id}/entitlements`, [{ resource: api.identifier, scopes: ['read'] }])).statusCode],
      ['disable', async (id) => (await adminCall(a, adminA, 'PATCH', `/admin/identities/${id}`, { status: 'disabled' })).statusCode],
      ['revoke-sessions', async (id) => (await adminCall(a, adminA, 'POST', `/admin/identities/${id}/revoke-sessions`, {})).statusCode],
      ['identity= revocation on /revoke', async (id) => (await revokeAs(a, adminCaller, { identity: id })).statusCode]
    ]
    for (const [name, change] of changes) {
      const { svc, token } = await fresh()
      t.ok(await active(b, token), `${name}: active on B before`)
      t.equal(await change(svc.id), 200, `${name}: acknowledged by A`)
      t.strictSame((await introspectAs(b, rs, token)).json(), { active: false }, `${name}: inactive on B at once`)
    }
  })

  t.test('a narrowing change through B: A\'s next introspection says inactive', async (t) => {
    const { svc, token } = await fresh()
    const entitlements = (await adminCall(b, adminB, 'GET', `/admin/identities/${svc.id}`)).json().entitlements as Array<{ id: string }>
    const del = await adminCall(b, adminB, 'DELETE', `/admin/identities/${svc.id}/entitlements/${entitlements[0]?.id as string}`)
    t.equal(del.statusCode, 204)
    t.strictSame((await introspectAs(a, rs, token)).json(), { active: false })
  })

  t.test('the admin bearer check on B honours a revocation made through A', async (t) => {
    const other = await createClient(a, adminA, { kind: 'admin' })
    await grant(a, adminA, other.id, 'urn:tally:admin', ['admin:read', 'admin:write', 'admin:revoke'])
    const token = await tokenFor(a, other, { resource: 'urn:tally:admin' })
    t.equal((await adminCall(b, token, 'GET', '/admin/identities?limit=1')).statusCode, 200, 'accepted on B')
    t.equal((await revokeAs(a, other, { token })).statusCode, 200, 'revoked through A')
    const res = await adminCall(b, token, 'GET', '/admin/identities?limit=1')
    t.equal(res.statusCode, 401, 'refused on B at its next request')
    t.equal(res.json().error, 'invalid_token')

    const second = await tokenFor(b, other, { resource: 'urn:tally:admin' })
    t.equal((await adminCall(b, second, 'POST', '/admin/identities', { client_id: `x-${Date.now()}`, kind: 'agent' })).statusCode, 201, 'admin:write on B')
    const narrow = await adminCall(a, adminA, 'PUT', `/admin/identities/${other.id}/entitlements`, [{ resource: 'urn:tally:admin', scopes: ['admin:read', 'admin:write'] }])
    t.equal(narrow.statusCode, 200, 'narrowed through A')
    t.equal((await adminCall(b, second, 'GET', '/admin/identities?limit=1')).statusCode, 401, 'stale on B at once')
  })

  t.test('a private_key_jwt jti is single-use across instances', async (t) => {
    const identity = await createClient(a, adminA, { kind: 'workload', prefix: 'pkj', secret: false })
    await grant(a, adminA, identity.id, api.identifier, ['read'])
    const { privateKey, publicKey } = await generateKeyPair('ES256')
    const reg = await adminCall(b, adminB, 'POST', `/admin/identities/${identity.id}/keys`, { jwk: { ...(await exportJWK(publicKey)), kid: 'k1' } })
    t.equal(reg.statusCode, 201, 'key registered through B')
    const signed = await assertion(privateKey, 'ES256', identity.clientId, ISSUER, {}, { kid: 'k1' })
    const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => await (i % 2 === 0 ? a : b).inject({
      method: 'POST',
      url: '/token',
      remoteAddress: someAddress(),
      headers: { 'content-type': FORM_TYPE },
      payload: form({ grant_type: 'client_credentials', resource: api.identifier, ...assertionParams(signed) })
    })))
    t.equal(results.filter((r) => r.statusCode === 200).length, 1, 'exactly one 200 across both instances')
    t.equal(results.filter((r) => r.statusCode === 401).length, 19)
  })
}
