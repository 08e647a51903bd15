// The actor may authenticate any way (docs/reference/delegation.md), including with its platform's token (docs/reference/federation.md): a Kubernetes
// workload with no secret exchanges a service's token; the result is capped by the assertion's exp, and
// revoking the workload's federated credential (a bump of the actor) makes the derived token inactive.
// An actor_token, when given, must be an active token of the authenticated client.
import t from '../support/tap.js'
import { adminCall, adminToken, build, decodePayload, form, FORM_TYPE, ISSUER } from '../helper.js'
import { expectStatus } from '../support/admin.js'
import { CLIENT_ASSERTION_TYPE, introspection, tokenFor } from '../support/oauth.js'
import { createTrust, createWorkload } from '../federation/fixture.js'
import { kubernetesClaims, startLocalIssuer } from '../federation/local-issuer.js'
import { ACCESS_TOKEN_TYPE, chainFixture, exchange, TOKEN_EXCHANGE } from './fixture.js'

const app = await build(t)
const admin = await adminToken(app)

t.test('a federated workload as the actor', async (t) => {
  const c = await chainFixture(app, admin)
  const k8s = await startLocalIssuer(t)
  await createTrust(app, admin, { issuer: k8s.issuer, claims: { namespace: 'kubernetes.io.namespace' } })
  const wl = await createWorkload(app, admin, { issuer: k8s.issuer, subject: 'system:serviceaccount:agents:summarizer' })
  expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${c.subject.id}/delegations`, { actor: wl.clientId, resource: c.resource, scopes: ['read'] }))
  const exp = Math.floor(Date.now() / 1000) + 120
  const assertion = await k8s.sign({ ...kubernetesClaims(k8s.issuer, ISSUER, 'agents', 'summarizer'), exp })
  const subjectToken = await tokenFor(app, c.subject, { resource: c.resource })
  const res = await app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': FORM_TYPE },
    payload: form({ grant_type: TOKEN_EXCHANGE, client_id: wl.clientId, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion, subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE })
  })
  const body = expectStatus(res, 200)
  const claims = decodePayload(body.access_token)
  t.match(claims, { sub: c.subject.id, client_id: wl.clientId, scope: 'read', act: { sub: wl.id, client_id: wl.clientId, epoch: 1 } })
  t.ok(claims.exp <= exp, 'never past the actor\'s platform token')
  t.equal((await introspection(app, c.rs, body.access_token)).active, true)
  expectStatus(await adminCall(app, admin, 'DELETE', `/admin/identities/${wl.id}/credentials/${wl.credentialId}`), 204)
  t.strictSame(await introspection(app, c.rs, body.access_token), { active: false }, 'revoking the actor\'s credential bumps it: the delegated token is dead')
})

t.test('actor_token: the authenticated client\'s own active token is accepted', async (t) => {
  const c = await chainFixture(app, admin)
  const subjectToken = await tokenFor(app, c.subject, { resource: c.resource })
  // a holds no entitlement of its own: its token is for another resource it is entitled to.
  const other = `https://${Math.random().toString(36).slice(2, 10)}.example`
  expectStatus(await adminCall(app, admin, 'POST', '/admin/resources', { identifier: other, scopes: ['ping'] }))
  expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${c.a.id}/entitlements`, { resource: other, scopes: ['ping'] }))
  const actorToken = await tokenFor(app, c.a, { resource: other })
  const ok = await exchange(app, c.a, subjectToken, { actor_token: actorToken, actor_token_type: ACCESS_TOKEN_TYPE })
  t.equal(ok.statusCode, 200, 'accepted')
  expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${c.a.id}/revoke-sessions`, {}), 200)
  const stale = await exchange(app, c.a, subjectToken, { actor_token: actorToken, actor_token_type: ACCESS_TOKEN_TYPE })
  t.strictSame([stale.statusCode, stale.json()], [400, { error: 'invalid_grant', error_description: 'actor_token is not an active access token of the authenticated client' }], 'a stale actor_token is refused')
})
