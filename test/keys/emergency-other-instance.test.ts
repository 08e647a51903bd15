// Issue 9 finding 11: after an emergency rotation through one instance, no other instance sends a token
// signed with the removed key — even one whose key ring has not reloaded yet: its session insert refuses
// the removed key, so it answers 503 + Retry-After instead, and signs with the new key after reloading.
import t from '../support/tap.js'
import { adminCall, adminToken, basic, decodeHeader, form, FORM_TYPE, requestToken } from '../helper.js'
import { feedFixture, startInstance } from '../support/instances.js'
import { waitFor } from '../support/wait.js'

const onPostgres = process.env.DATABASE_URL !== undefined

t.test('an instance whose key ring lags refuses to send tokens of the removed key', async (t) => {
  const a = await startInstance(t, t)
  // On Postgres its own pool and LISTEN connections, as a second process; on PGlite a second app.
  const b = await startInstance(t, t, { ownStore: onPostgres })
  const f = await feedFixture(a.app)
  const oldKid = b.app.tally.keys.signingKey().kid

  // Hold B's key ring at the old key set, as if the NOTIFY had not arrived yet.
  const ring = b.app.tally.keys
  const reload = ring.reload.bind(ring)
  let lagging = true
  ring.reload = async () => { if (!lagging) await reload() }

  const rotated = await adminCall(a.app, f.admin, 'POST', '/admin/keys/rotate', { emergency: true })
  t.equal(rotated.statusCode, 200)
  const newKid = rotated.json().kid as string
  t.equal(b.app.tally.keys.signingKey().kid, oldKid, 'B still holds the removed key')

  const refused = await requestToken(b.app, f.svc.clientId, f.svc.secret, { resource: f.resource })
  t.equal(refused.statusCode, 503)
  t.equal(refused.headers['retry-after'], '2')
  t.equal(refused.headers['cache-control'], 'no-store')
  t.strictSame(refused.json(), { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable' })

  // Once B reloads (the refusal itself asks for a reload; the NOTIFY does too), it signs with the new key.
  lagging = false
  await waitFor(async () => (await requestToken(b.app, f.svc.clientId, f.svc.secret, { resource: f.resource })).statusCode === 200, { what: 'B to sign again', timeoutMs: 15_000 })
  const issued = await requestToken(b.app, f.svc.clientId, f.svc.secret, { resource: f.resource })
  t.equal(issued.statusCode, 200)
  const token = issued.json().access_token as string
  t.equal(decodeHeader(token).kid, newKid)
  const introspected = await a.app.inject({ method: 'POST', url: '/introspect', headers: { authorization: basic(f.rs.clientId, f.rs.secret), 'content-type': FORM_TYPE }, payload: form({ token }) })
  t.match(introspected.json(), { active: true })

  // Without the lag: requests to B right after a second rotation race B's reload on the NOTIFY, and
  // none may carry a removed key.
  const again = await adminCall(a.app, await adminToken(a.app), 'POST', '/admin/keys/rotate', { emergency: true })
  t.equal(again.statusCode, 200)
  const removed = new Set<string>(again.json().removed)
  const kids: string[] = []
  const statuses = new Set<number>()
  const deadline = Date.now() + 2000
  while (Date.now() < deadline && kids.length < 20) {
    const res = await requestToken(b.app, f.svc.clientId, f.svc.secret, { resource: f.resource })
    statuses.add(res.statusCode)
    if (res.statusCode === 200) kids.push(decodeHeader(res.json().access_token).kid)
  }
  t.ok(kids.length > 0, 'B issued tokens after the second rotation')
  t.strictSame(kids.filter((kid) => removed.has(kid)), [], `none of the ${kids.length} tokens B sent is signed by a removed key`)
  t.ok([...statuses].every((s) => s === 200 || s === 503), `only 200 or 503 (${[...statuses].join(', ')})`)
})
