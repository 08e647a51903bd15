// Issue 9 findings 3 and 6: the throttle's memory is bounded whatever is presented, and failures by a
// stranger never lock out a correct credential; TRUST_PROXY reads the client address behind a proxy.
import t from '../support/tap.js'
import { AuthThrottle, TooManyRequests } from '../../server/oauth/throttle.js'
import { ADMIN_SECRET, basic, build, FORM_TYPE, form, requestToken, uniqueId } from '../helper.js'
import { createClient } from '../support/admin.js'
import { adminToken } from '../helper.js'

t.test('memory is bounded: fixed-size keys, a capacity, expiry of old windows', async (t) => {
  let now = 0
  const throttle = new AuthThrottle({ windowS: 60, maxFailuresPerAddress: 50, maxFailuresPerClient: 20, maxKeys: 1000 }, () => now)
  const huge = 'x'.repeat(60_000)
  const before = process.memoryUsage().heapUsed
  // 3,000 distinct 60 KB client_ids: three times the capacity, and 180 MB if they were kept.
  for (let i = 0; i < 3_000; i++) {
    try { throttle.recordFailure('203.0.113.7', `${huge}${i}`) } catch (err) { if (!(err instanceof TooManyRequests)) throw err }
  }
  t.equal(throttle.size, 1000, '3,000 distinct 60 KB client_ids keep at most the capacity')
  t.ok(process.memoryUsage().heapUsed - before < 50 * 1024 * 1024, 'and the client_ids themselves are not kept (a few MB at most)')
  now += 61_000
  for (let i = 0; i < 400; i++) throttle.recordFailure(`198.51.100.${i % 250}`, undefined)
  t.equal(throttle.size, 250, 'expired windows are dropped as new ones arrive: only the 250 live ones are left')
})

t.test('failures past the limits are 429 with Retry-After; a correct credential always succeeds', async (t) => {
  const app = await build(t)
  const admin = await adminToken(app)
  const victim = await createClient(app, admin)
  const addr = '192.0.2.10'
  const call = async (clientId: string, secret: string): Promise<{ statusCode: number, headers: Record<string, unknown> }> =>
    await app.inject({ method: 'POST', url: '/token', remoteAddress: addr, headers: { authorization: basic(clientId, secret), 'content-type': FORM_TYPE }, payload: form({ grant_type: 'client_credentials' }) })
  // A stranger on the victim's address fails with the victim's client_id and with made-up ones.
  for (let i = 0; i < 25; i++) await call(victim.clientId, 'tly_wrong')
  for (let i = 0; i < 30; i++) await call(uniqueId('made-up'), 'tly_wrong')
  const failure = await call(victim.clientId, 'tly_wrong')
  t.equal(failure.statusCode, 429, 'a further failure is 429')
  t.ok(Number(failure.headers['retry-after']) >= 1, 'with Retry-After')
  t.equal((await call(victim.clientId, victim.secret)).statusCode, 400, 'the victim\'s correct secret authenticates (400: no entitlement)')
  t.equal((await call('admin', ADMIN_SECRET)).statusCode, 200, 'so does the admin on that address')
})

t.test('the feed counts failures per address too', async (t) => {
  const app = await build(t)
  const statuses: number[] = []
  for (let i = 0; i < 52; i++) {
    const res = await app.inject({ method: 'GET', url: '/epochs', remoteAddress: '192.0.2.20', headers: { authorization: basic(uniqueId('x'.repeat(100)), 'tly_wrong') } })
    statuses.push(res.statusCode)
  }
  t.strictSame([statuses.slice(0, 50).every((s) => s === 401), statuses.slice(50)], [true, [429, 429]], '50 × 401, then 429')
})

t.test('TRUST_PROXY: the address comes from X-Forwarded-For only when configured', async (t) => {
  const behind = await build(t, { TRUST_PROXY: '127.0.0.1/8' })
  const direct = await build(t)
  const fail = async (app: typeof direct, forwarded: string): Promise<number> => (await app.inject({
    method: 'POST', url: '/token', remoteAddress: '127.0.0.1',
    headers: { 'x-forwarded-for': forwarded, authorization: basic(uniqueId(), 'tly_wrong'), 'content-type': FORM_TYPE },
    payload: form({ grant_type: 'client_credentials' })
  })).statusCode
  for (let i = 0; i < 50; i++) await fail(behind, '198.51.100.1')
  t.equal(await fail(behind, '198.51.100.1'), 429, 'behind the proxy: the forwarded address is throttled')
  t.equal(await fail(behind, '198.51.100.2'), 401, 'another forwarded address is not')
  for (let i = 0; i < 50; i++) await fail(direct, `198.51.100.${i}`)
  t.equal(await fail(direct, '198.51.100.99'), 429, 'without TRUST_PROXY, X-Forwarded-For is ignored: the socket address counts')
  const res = await requestToken(direct, 'admin', ADMIN_SECRET, { resource: 'urn:tally:admin' })
  t.equal(res.statusCode, 200, 'and its correct credentials still work')
})
