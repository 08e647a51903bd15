// Removing a trust reaches verifiers through the epoch feed: a token minted from a platform's assertion is
// active in the verifier library (which exposes its ctx), and stale within the feed's bound once the trust
// is removed. Real port, real feed.
import t from '../support/tap.js'
import { createVerifier } from '../../packages/verifier/src/index.js'
import { adminCall, ISSUER } from '../helper.js'
import { expectStatus } from '../support/admin.js'
import { feedFixture, startInstance } from '../support/instances.js'
import { waitFor } from '../support/wait.js'
import { createTrust, createWorkload, jwtBearer } from './fixture.js'
import { kubernetesClaims, startLocalIssuer } from './local-issuer.js'

const root = t

t.test('a removed trust makes its tokens stale in the verifier', async (t) => {
  const a = await startInstance(root, t)
  const f = await feedFixture(a.app)
  const k8s = await startLocalIssuer(t)
  const trust = await createTrust(a.app, f.admin, { issuer: k8s.issuer, claims: { namespace: 'kubernetes.io.namespace' } })
  await createWorkload(a.app, f.admin, { issuer: k8s.issuer, subject: 'system:serviceaccount:web:frontend' }, [{ resource: f.resource, scopes: ['read'], conditions: { namespace: 'web' } }])
  const res = await jwtBearer(a.app, await k8s.sign(kubernetesClaims(k8s.issuer, ISSUER, 'web', 'frontend')), { resource: f.resource })
  const token = expectStatus(res, 200).access_token as string

  const verifier = await createVerifier({ issuer: ISSUER, serverUrl: a.url, audience: f.resource, clientId: f.rs.clientId, clientSecret: f.rs.secret })
  a.onClosed(async () => await verifier.close())
  const before = await verifier.verify(token, { scopes: ['read'] })
  t.match(before, { active: true, claims: { ctx: { namespace: 'web' } } }, 'the verifier exposes ctx')

  expectStatus(await adminCall(a.app, f.admin, 'DELETE', `/admin/trusts/${trust.id as string}`), 204)
  const started = Date.now()
  await waitFor(async () => !(await verifier.verify(token, { scopes: ['read'] })).active, { what: 'the verifier to see the bump' })
  const waited = Date.now() - started
  t.ok(waited < 2000 + 1000, `stale within the feed bound (${waited} ms)`)
  t.strictSame(await verifier.verify(token, { scopes: ['read'] }), { active: false, reason: 'stale' })
})
