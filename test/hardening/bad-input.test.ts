// The ugliest requests we could think of: each gets a clear 4xx with an OAuth error body, never a 5xx.
import t from '../support/tap.js'
import { SignJWT, generateKeyPair, exportJWK } from 'jose'
import { adminCall, adminToken, basic, build, FORM_TYPE, requestToken, uniqueId } from '../helper.js'

t.test('bad form bodies at /token', async (t) => {
  const app = await build(t)
  const cases: Array<[string, string, string, number?]> = [
    ['NUL byte in a value', 'grant_type=client_credentials&scope=a%00b', 'parameters must not contain NUL or control characters'],
    ['malformed percent-escape', 'grant_type=client_credentials&scope=%zz', 'the request body is not valid form encoding'],
    ['invalid UTF-8', 'grant_type=client_credentials&scope=%C3%28', 'the request body is not valid form encoding'],
    ['nested key', 'grant_type=client_credentials&a[b]=c', 'unsupported parameter name'],
    ['array key', 'grant_type=client_credentials&scope[]=x', 'unsupported parameter name'],
    ['duplicated grant_type', 'grant_type=client_credentials&grant_type=client_credentials', 'duplicate parameter: grant_type'],
    ['duplicate with an empty first value', 'scope=&scope=a&grant_type=client_credentials', 'duplicate parameter: scope'],
    ['too many parameters', Array.from({ length: 100 }, (_, i) => `p${i}=1`).join('&'), 'too many parameters']
  ]
  for (const [name, payload, description] of cases) {
    const res = await app.inject({ method: 'POST', url: '/token', headers: { authorization: basic('admin', 'x'), 'content-type': FORM_TYPE }, payload })
    t.equal(res.statusCode, 400, name)
    t.strictSame(res.json(), { error: 'invalid_request', error_description: description }, name)
    t.equal(res.headers['cache-control'], 'no-store', name)
  }
  const big = await app.inject({ method: 'POST', url: '/token', headers: { 'content-type': FORM_TYPE }, payload: 'scope=' + 'a'.repeat(70 * 1024) })
  t.equal(big.statusCode, 413)
  t.strictSame(big.json(), { error: 'invalid_request', error_description: 'the request body is too large' })
  for (const type of ['application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencodedX']) {
    const res = await app.inject({ method: 'POST', url: '/token', headers: { 'content-type': type }, payload: 'grant_type=client_credentials' })
    t.equal(res.statusCode, 400, type)
    t.equal(res.json().error, 'invalid_request', type)
  }
})

t.test('bad JSON at the admin API', async (t) => {
  const app = await build(t)
  const token = await adminToken(app)
  const send = async (payload: string, type = 'application/json') => await app.inject({
    method: 'POST', url: '/admin/identities', headers: { authorization: `Bearer ${token}`, 'content-type': type }, payload
  })
  const cases: Array<[string, string]> = [
    ['__proto__ pollution', `{"client_id":"${uniqueId()}","kind":"agent","__proto__":{"admin":true}}`],
    ['constructor.prototype pollution', `{"client_id":"${uniqueId()}","kind":"agent","constructor":{"prototype":{"admin":true}}}`],
    ['malformed JSON', '{"client_id":'],
    ['array instead of object', '[1,2,3]'],
    ['unknown field', `{"client_id":"${uniqueId()}","kind":"agent","role":"root"}`],
    ['number for a string', '{"client_id":12,"kind":"agent"}'],
    ['nested metadata', `{"client_id":"${uniqueId()}","kind":"agent","metadata":${'{"a":'.repeat(20)}1${'}'.repeat(20)}}`],
    ['absurdly nested metadata', `{"client_id":"${uniqueId()}","kind":"agent","metadata":${'{"a":'.repeat(8000)}1${'}'.repeat(8000)}}`],
    ['absurdly nested array', '['.repeat(30000) + ']'.repeat(30000)]
  ]
  for (const [name, payload] of cases) {
    const res = await send(payload)
    t.ok(res.statusCode === 400, `${name}: ${res.statusCode}`)
    t.equal(res.json().error, 'invalid_request', name)
    t.equal(typeof res.json().error_description, 'string', name)
  }
  t.equal(({} as Record<string, unknown>).admin, undefined, 'no prototype was polluted')
})

t.test('client assertions with embedded keys or crit are refused as invalid_client', async (t) => {
  const app = await build(t)
  const token = await adminToken(app)
  const clientId = uniqueId('pk')
  await adminCall(app, token, 'POST', '/admin/identities', { client_id: clientId, kind: 'workload' })
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const jwk = await exportJWK(publicKey)
  await adminCall(app, token, 'POST', `/admin/identities/${clientId}/keys`, { jwk })
  const headers = [{ jwk }, { jku: 'https://attacker.example/jwks' }, { x5u: 'https://attacker.example/cert' }, { crit: ['exp'] }]
  for (const extra of headers) {
    const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', ...extra } as never)
      .setIssuer(clientId).setSubject(clientId).setAudience('http://localhost:8080').setJti(uniqueId('jti')).setExpirationTime('2m').sign(privateKey)
      .catch(() => undefined)
    if (assertion === undefined) continue
    const res = await app.inject({
      method: 'POST', url: '/token', headers: { 'content-type': FORM_TYPE },
      payload: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }).toString()
    })
    t.equal(res.statusCode, 401, Object.keys(extra)[0] ?? 'header')
    t.strictSame(res.json(), { error: 'invalid_client', error_description: 'client authentication failed' })
  }
})

t.test('absurd tokens at /introspect are inactive, not errors', async (t) => {
  const app = await build(t)
  const { ADMIN_SECRET } = await import('../helper.js')
  for (const token of ['a', 'a.b.c', 'x'.repeat(60_000), '....', 'eyJhbGciOiJub25lIn0.e30.', '\u00e9.\u00e9.\u00e9']) {
    const res = await app.inject({ method: 'POST', url: '/introspect', headers: { authorization: basic('admin', ADMIN_SECRET), 'content-type': FORM_TYPE }, payload: new URLSearchParams({ token }).toString() })
    t.equal(res.statusCode, 200)
    t.strictSame(res.json(), { active: false })
  }
})

t.test('failed authentications are throttled per client_id without locking out the right secret', async (t) => {
  const app = await build(t)
  const token = await adminToken(app)
  const clientId = uniqueId()
  await adminCall(app, token, 'POST', '/admin/identities', { client_id: clientId, kind: 'agent' })
  const secret = (await adminCall(app, token, 'POST', `/admin/identities/${clientId}/secrets`, {})).json().client_secret
  const statuses: number[] = []
  for (let i = 0; i < 22; i++) statuses.push((await requestToken(app, clientId, 'tly_wrong')).statusCode)
  t.strictSame(statuses.slice(0, 20), Array(20).fill(401), 'the first failures are 401')
  t.strictSame(statuses.slice(20), [429, 429], 'then 429')
  const throttled = await requestToken(app, clientId, 'tly_wrong')
  t.ok(Number(throttled.headers['retry-after']) >= 1, 'with Retry-After')
  t.equal(throttled.json().error_description, 'too many failed authentication attempts; retry later')
  t.equal((await requestToken(app, clientId, secret)).statusCode, 400, 'the right secret still authenticates (400: it has no entitlement yet)')
  // An unknown client_id is throttled exactly like a known one: a 429 says nothing about existence.
  const unknown: number[] = []
  for (let i = 0; i < 21; i++) unknown.push((await requestToken(app, uniqueId('nobody-') + 'x'.repeat(0), 'tly_wrong')).statusCode)
  t.ok(unknown.every((s) => s === 401 || s === 429))
})

t.test('an address that keeps failing gets 429 for its failures, never for a correct credential', async (t) => {
  const app = await build(t)
  for (let i = 0; i < 50; i++) await requestToken(app, uniqueId(), 'tly_wrong')
  const failed = await requestToken(app, uniqueId(), 'tly_wrong')
  t.equal(failed.statusCode, 429, 'the 51st failure from that address')
  t.ok(Number(failed.headers['retry-after']) >= 1, 'with Retry-After')
  const res = await requestToken(app, 'admin', (await import('../helper.js')).ADMIN_SECRET, { resource: 'urn:tally:admin' })
  t.equal(res.statusCode, 200, 'the admin on the same address still gets its token')
})
