// A database outage (docs/reference/errors.md): with its Postgres stopped, Tally answers every endpoint that needs the
// database with 503 temporarily_unavailable + Retry-After, quickly — never a hang, never active:true, never a
// 200 for a revocation it could not store — and recovers by itself once Postgres is back. The test owns
// its Postgres cluster, so it runs the same with or without DATABASE_URL.
import type { Test } from 'tap'
import t from './support/tap.js'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../server/app.js'
import { ADMIN_SECRET, adminCall, adminToken, testConfig } from './helper.js'
import { findPostgresBin, startTestPostgres } from './support/postgres.js'
import { createClient, createResource, grant, type TestClient } from './support/admin.js'
import { introspectAs, revokeAs, tokenFor } from './support/oauth.js'
import { requestToken } from './helper.js'

const MAX_OUTAGE_ANSWER_MS = 10_000
const bin = findPostgresBin()

if (bin === undefined) {
  t.plan(0, 'no Postgres server binaries (dpkg -L postgresql-NN | grep bin/initdb): skipped')
} else {
  const pg = await startTestPostgres(bin)
  let app: FastifyInstance | undefined
  // One teardown, in order: the app first (it holds connections), then the cluster, then its files.
  t.teardown(async () => {
    try { await app?.close() } finally { pg.destroy() }
  })
  app = await buildApp(testConfig({ DATABASE_URL: pg.url }), { logger: false })
  const tally = app

  const admin = await adminToken(tally)
  const rs = await createClient(tally, admin, { kind: 'resource_server' })
  const api = await createResource(tally, admin, { scopes: ['read'], introspectors: [rs.clientId] })
  const svc: TestClient = await createClient(tally, admin)
  await grant(tally, admin, svc.id, api.identifier, ['read'])
  const revokedBefore = await tokenFor(tally, svc, { resource: api.identifier })
  const survivor = await tokenFor(tally, svc, { resource: api.identifier })
  const adminCaller = { clientId: 'admin', secret: ADMIN_SECRET }

  const requests: Array<[string, () => Promise<LightMyRequestResponse>]> = [
    ['/token', async () => await requestToken(tally, svc.clientId, svc.secret, { resource: api.identifier })],
    ['/introspect (an active token)', async () => await introspectAs(tally, rs, survivor)],
    ['/introspect (by an admin)', async () => await introspectAs(tally, adminCaller, survivor)],
    ['/introspect (the revoked token)', async () => await introspectAs(tally, rs, revokedBefore)],
    ['/revoke', async () => await revokeAs(tally, svc, { token: survivor })],
    ['/revoke identity=', async () => await revokeAs(tally, adminCaller, { identity: svc.clientId })],
    ['admin GET /admin/identities', async () => await adminCall(tally, admin, 'GET', '/admin/identities?limit=1')],
    ['admin POST /admin/identities/:id/revoke-sessions', async () => await adminCall(tally, admin, 'POST', `/admin/identities/${svc.id}/revoke-sessions`, {})]
  ]

  function assertUnavailable (t: Test, res: LightMyRequestResponse, ms: number, name: string): void {
    t.equal(res.statusCode, 503, `${name}: 503 (${res.body})`)
    t.match(res.json(), { error: 'temporarily_unavailable', error_description: String }, `${name}: temporarily_unavailable`)
    t.strictSame(Object.keys(res.json()).sort(), ['error', 'error_description'], `${name}: nothing else in the body`)
    t.match(res.headers['retry-after'], /^\d+$/, `${name}: Retry-After`)
    t.equal(res.headers['cache-control'], 'no-store', `${name}: no-store`)
    t.notMatch(res.body, /"active"\s*:\s*true/, `${name}: never active:true`)
    t.notMatch(res.body, /ECONNREFUSED|postgres|select|stack/i, `${name}: no internals`)
    t.ok(ms < MAX_OUTAGE_ANSWER_MS, `${name}: answered in ${ms} ms (< ${MAX_OUTAGE_ANSWER_MS})`)
  }

  t.test('before the outage: a revocation is acknowledged', async (t) => {
    t.equal((await revokeAs(tally, svc, { token: revokedBefore })).statusCode, 200)
    t.strictSame((await introspectAs(tally, rs, revokedBefore)).json(), { active: false })
    t.equal((await introspectAs(tally, rs, survivor)).json().active, true)
  })

  t.test('Postgres hung (SIGSTOP): still 503 within the bound, never a hang; then recovery', async (t) => {
    pg.pause()
    try {
      const results = await Promise.all(requests.map(async ([name, send]) => {
        const started = Date.now()
        const res = await send()
        return { name, res, ms: Date.now() - started }
      }))
      for (const { name, res, ms } of results) assertUnavailable(t, res, ms, `hung: ${name}`)
    } finally {
      pg.resume()
    }
    const intro = await introspectAs(tally, rs, survivor)
    t.equal(intro.statusCode, 200, `introspection answers once the database resumes: ${intro.body}`)
    t.equal(intro.json().active, true, 'the token survived (its revocation got a 503)')
    t.strictSame((await introspectAs(tally, rs, revokedBefore)).json(), { active: false }, 'the revocation from before still holds')
  })

  t.test('Postgres stopped: 503 temporarily_unavailable + Retry-After, quickly, on every endpoint', async (t) => {
    pg.stop()
    for (const [name, send] of requests) {
      const started = Date.now()
      const res = await send()
      assertUnavailable(t, res, Date.now() - started, name)
    }
    // The same, all at once: a burst must not queue behind a pool that cannot connect.
    const started = Date.now()
    const burst = await Promise.all(Array.from({ length: 3 }, async () => await Promise.all(requests.map(async ([, send]) => await send()))))
    const ms = Date.now() - started
    burst.flat().forEach((res, i) => assertUnavailable(t, res, ms, `burst #${i}`))
    const ready = await tally.inject({ method: 'GET', url: '/readyz' })
    t.not(ready.statusCode, 200, '/readyz is not ready')
    const health = await tally.inject({ method: 'GET', url: '/healthz' })
    t.equal(health.statusCode, 200, '/healthz: the process is up')
  })

  t.test('Postgres started again: the same requests succeed without restarting Tally', async (t) => {
    pg.start()
    const token = await requestToken(tally, svc.clientId, svc.secret, { resource: api.identifier })
    t.equal(token.statusCode, 200, `/token: ${token.body}`)
    const intro = await introspectAs(tally, rs, survivor)
    t.equal(intro.statusCode, 200)
    t.equal(intro.json().active, true, 'the token whose revocation got a 503 was not revoked')
    t.strictSame((await introspectAs(tally, rs, revokedBefore)).json(), { active: false }, 'the revocation acknowledged before the outage still holds')
    t.strictSame((await introspectAs(tally, adminCaller, revokedBefore)).json(), { active: false }, 'to an admin too')
    const identity = await adminCall(tally, admin, 'GET', `/admin/identities/${svc.id}`)
    t.equal(identity.statusCode, 200, 'admin API')
    t.equal(identity.json().epoch, 1, 'no epoch bump was stored during the outage')
    t.equal((await revokeAs(tally, svc, { token: survivor })).statusCode, 200, '/revoke')
    t.strictSame((await introspectAs(tally, rs, survivor)).json(), { active: false }, 'revoked now')
    t.equal((await tally.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, '/readyz ready again')
  })
}
