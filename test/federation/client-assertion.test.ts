// docs/reference/federation.md through RFC 7523 §2.2: a platform's token as client_assertion wherever private_key_jwt works —
// /token (client_credentials), /introspect, /revoke and the epoch feed. Failures are §3's one invalid_client.
import t from '../support/tap.js'
import { adminToken, build, decodePayload, form, FORM_TYPE, ISSUER } from '../helper.js'
import { createResource } from '../support/admin.js'
import { assertInvalidClient, CLIENT_ASSERTION_TYPE } from '../support/oauth.js'
import { createTrust, createWorkload } from './fixture.js'
import { kubernetesClaims, startLocalIssuer } from './local-issuer.js'

const root = t

async function setup (t: { teardown: (fn: () => unknown) => void }): Promise<any> {
  const app = await build(root)
  const admin = await adminToken(app)
  const k8s = await startLocalIssuer(t)
  await createTrust(app, admin, { issuer: k8s.issuer, claims: { namespace: 'kubernetes.io.namespace' } })
  const clientId = `wl-${Math.random().toString(36).slice(2, 10)}`
  const { identifier: api } = await createResource(app, admin, { scopes: ['read', 'write'], introspectors: [] })
  const wl = await createWorkload(app, admin, { issuer: k8s.issuer, subject: 'system:serviceaccount:apps:web' }, [
    { resource: api, scopes: ['read'], conditions: { namespace: 'apps' } },
    { resource: api, scopes: ['write'], conditions: { namespace: 'ops' } }
  ], clientId)
  // The workload also introspects its resource, so it may call /introspect and read the feed.
  await app.inject({ method: 'PATCH', url: `/admin/resources/${encodeURIComponent(api)}`, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, payload: JSON.stringify({ introspectors: [clientId] }) })
  const assertion = async (claims: Record<string, unknown> = {}): Promise<string> => await k8s.sign({ ...kubernetesClaims(k8s.issuer, ISSUER, 'apps', 'web'), ...claims })
  const post = async (url: string, params: Record<string, string>): Promise<any> =>
    await app.inject({ method: 'POST', url, headers: { 'content-type': FORM_TYPE }, payload: form(params) })
  const auth = async (claims?: Record<string, unknown>, id: string | undefined = clientId): Promise<Record<string, string>> => ({
    client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await assertion(claims), ...(id !== undefined && { client_id: id })
  })
  return { app, admin, k8s, api, wl, clientId, assertion, post, auth }
}

t.test('client_credentials with a federated client assertion', async (t) => {
  const { post, auth, api, wl } = await setup(t)
  const res = await post('/token', { grant_type: 'client_credentials', ...(await auth()) })
  t.equal(res.statusCode, 200, res.body)
  const claims = decodePayload(res.json().access_token)
  t.equal(claims.sub, wl.id)
  t.equal(claims.scope, 'read', 'only the entitlement the namespace satisfies')
  t.strictSame(claims.ctx, { namespace: 'apps' })
  t.strictSame(claims.entitlements, [{ resource: api, scopes: ['read'], conditions: { namespace: 'apps' } }])

  const again = await post('/token', { grant_type: 'client_credentials', ...(await auth()) })
  t.equal(again.statusCode, 200, 'a platform token is not single-use')
  const noClientId = await post('/token', { grant_type: 'client_credentials', ...(await auth({}, undefined)) })
  t.equal(noClientId.statusCode, 200, 'client_id may be left out when the assertion names one identity')
})

t.test('introspection, revocation and the feed accept it too', async (t) => {
  const { post, auth } = await setup(t)
  const token = (await post('/token', { grant_type: 'client_credentials', ...(await auth()) })).json().access_token
  const active = await post('/introspect', { token, ...(await auth()) })
  t.equal(active.statusCode, 200)
  t.equal(active.json().active, true)
  t.strictSame(active.json().ctx, { namespace: 'apps' })

  const feed = await post('/epochs', { ...(await auth()) })
  t.equal(feed.statusCode, 200, 'the feed')
  t.type(feed.json().cursor, 'string')

  const revoked = await post('/revoke', { token, ...(await auth()) })
  t.equal(revoked.statusCode, 200)
  t.strictSame((await post('/introspect', { token, ...(await auth()) })).json(), { active: false }, 'revoked')
})

t.test('every failure is the one invalid_client', async (t) => {
  const { post, auth, app, clientId } = await setup(t)
  const stranger = await startLocalIssuer(t)
  const now = Math.floor(Date.now() / 1000)
  const tallyToken = await adminToken(app)
  const cases: Array<[string, () => Promise<Record<string, string>>]> = [
    ['an expired assertion', async () => await auth({ exp: now - 5, iat: now - 600, nbf: now - 600 })],
    ['a wrong audience', async () => await auth({ aud: ['https://elsewhere.example'] })],
    ['another identity\'s client_id', async () => await auth({}, 'admin')],
    ['a subject with no federated credential', async () => await auth({ sub: 'system:serviceaccount:apps:other' })],
    ['an untrusted issuer', async () => ({ client_assertion_type: CLIENT_ASSERTION_TYPE, client_id: clientId, client_assertion: await stranger.sign(kubernetesClaims(stranger.issuer, ISSUER, 'apps', 'web')) })],
    ['a Tally access token', async () => ({ client_assertion_type: CLIENT_ASSERTION_TYPE, client_id: clientId, client_assertion: tallyToken })]
  ]
  for (const [what, make] of cases) {
    assertInvalidClient(t, await post('/token', { grant_type: 'client_credentials', ...(await make()) }), `/token: ${what}`)
  }
  assertInvalidClient(t, await post('/introspect', { token: tallyToken, ...(await auth({ aud: ['x'] })) }), '/introspect: a wrong audience')
})
