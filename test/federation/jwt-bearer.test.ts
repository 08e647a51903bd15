// docs/reference/federation.md through the RFC 7523 §2.1 grant: a workload with no Tally secret presents its platform's token
// (Kubernetes projected service-account tokens and GitHub Actions OIDC tokens, from a real local issuer
// over HTTP) and gets a token carrying only the entitlements its live context satisfies.
import t from '../support/tap.js'
import { adminCall, adminToken, ADMIN_SECRET, basic, build, decodePayload, ISSUER } from '../helper.js'
import { createClient, createResource, epochOf, expectStatus } from '../support/admin.js'
import { assertInvalidClient, assertNoStore, introspection, unsignedJwt } from '../support/oauth.js'
import { createTrust, createWorkload, jwtBearer } from './fixture.js'
import { githubActionsClaims, kubernetesClaims, startLocalIssuer } from './local-issuer.js'

const root = t
const adminBasic = basic('admin', ADMIN_SECRET)

t.test('a Kubernetes service account gets a token for its namespace, with no secret', async (t) => {
  const app = await build(root)
  const admin = await adminToken(app)
  const k8s = await startLocalIssuer(t)
  await createTrust(app, admin, { issuer: k8s.issuer, claims: { namespace: 'kubernetes.io.namespace', serviceaccount: 'kubernetes.io.serviceaccount.name' }, name: 'kind cluster' })
  const { identifier: api } = await createResource(app, admin, { scopes: ['read', 'write'] })
  const wl = await createWorkload(app, admin, { issuer: k8s.issuer, subject: 'system:serviceaccount:payments:billing', match: { namespace: 'payments' } }, [
    { resource: api, scopes: ['read'], conditions: { namespace: 'payments' } },
    { resource: api, scopes: ['write'], conditions: { namespace: 'payments-admin' } }
  ])
  const assertion = await k8s.sign(kubernetesClaims(k8s.issuer, ISSUER, 'payments', 'billing'))
  const res = await jwtBearer(app, assertion)
  t.equal(res.statusCode, 200, res.body)
  assertNoStore(t, res)
  const body = res.json()
  t.equal(body.scope, 'read', 'the write entitlement, for another namespace, is withheld')
  const claims = decodePayload(body.access_token)
  t.equal(claims.sub, wl.id)
  t.equal(claims.client_id, wl.clientId)
  t.strictSame(claims.ctx, { namespace: 'payments', serviceaccount: 'billing' })
  t.strictSame(claims.entitlements, [{ resource: api, scopes: ['read'], conditions: { namespace: 'payments' } }])
  t.ok(claims.exp <= decodePayload(assertion).exp, 'the token never outlives the assertion')

  const active = await introspection(app, adminBasic, body.access_token)
  t.equal(active.active, true)
  t.strictSame(active.ctx, { namespace: 'payments', serviceaccount: 'billing' }, 'introspection returns ctx')

  // Asking for the withheld scope is the usual invalid_scope.
  const write = await jwtBearer(app, assertion, { scope: 'write' })
  t.equal(write.statusCode, 400)
  t.strictSame(write.json(), { error: 'invalid_scope', error_description: 'requested scope is not allowed' })

  // The platform token is not single-use.
  t.equal((await jwtBearer(app, assertion)).statusCode, 200, 'presented again')

  // The same service account in another namespace matches no federated credential.
  const other = await jwtBearer(app, await k8s.sign(kubernetesClaims(k8s.issuer, ISSUER, 'payments-admin', 'billing')))
  t.equal(other.statusCode, 400)
  t.strictSame(other.json(), { error: 'invalid_grant', error_description: 'no federated credential matches the assertion sub and context' })
})

t.test('a CI job in staging never gets the production deploy token', async (t) => {
  const app = await build(root)
  const admin = await adminToken(app)
  const gh = await startLocalIssuer(t)
  await createTrust(app, admin, { issuer: gh.issuer, audience: 'https://tally.example.test', claims: { environment: 'environment', repository: 'repository', run_attempt: 'run_attempt' } })
  const { identifier: deploy } = await createResource(app, admin, { scopes: ['deploy'] })
  const repo = 'octo-org/octo-repo'
  const staging = await createWorkload(app, admin, { issuer: gh.issuer, subject: `repo:${repo}:environment:staging` }, [
    { resource: deploy, scopes: ['deploy'], conditions: { environment: 'staging' } },
    { resource: deploy, scopes: ['deploy'], conditions: { environment: 'production' } }
  ])
  const job = await gh.sign(githubActionsClaims(gh.issuer, 'https://tally.example.test', repo, 'staging'), { typ: 'JWT', x5t: 'example-thumbprint' })
  const res = await jwtBearer(app, job, { resource: deploy })
  t.equal(res.statusCode, 200, res.body)
  const claims = decodePayload(res.json().access_token)
  t.strictSame(claims.entitlements, [{ resource: deploy, scopes: ['deploy'], conditions: { environment: 'staging' } }], 'only the staging entitlement')
  t.strictSame(claims.ctx, { environment: 'staging', repository: repo, run_attempt: '2' })
  t.equal(claims.sub, staging.id)

  // A job whose context lacks the condition gets nothing: the usual invalid_target.
  const id = await createWorkload(app, admin, { issuer: gh.issuer, subject: `repo:${repo}:ref:refs/heads/main` }, [
    { resource: deploy, scopes: ['deploy'], conditions: { environment: 'production' } }
  ])
  const noEnv = await jwtBearer(app, await gh.sign(githubActionsClaims(gh.issuer, 'https://tally.example.test', repo, undefined)), { resource: deploy })
  t.equal(noEnv.statusCode, 400)
  t.strictSame(noEnv.json(), { error: 'invalid_target', error_description: 'the client is not entitled to the requested resource' })
  t.equal(await epochOf(app, id.id), 1)

  // Tokens minted with a secret keep today's behaviour: conditional entitlements carried with their conditions.
  const withSecret = await createClient(app, admin, { entitlements: [{ resource: deploy, scopes: ['deploy'], conditions: { environment: 'production' } }] })
  const res2 = await app.inject({ method: 'POST', url: '/token', headers: { authorization: basic(withSecret.clientId, withSecret.secret), 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=client_credentials' })
  t.equal(res2.statusCode, 200)
  const c2 = decodePayload(res2.json().access_token)
  t.strictSame(c2.entitlements, [{ resource: deploy, scopes: ['deploy'], conditions: { environment: 'production' } }])
  t.notOk('ctx' in c2, 'no ctx without an assertion')
})

t.test('client_id picks the identity when the assertion matches several', async (t) => {
  const app = await build(root)
  const admin = await adminToken(app)
  const k8s = await startLocalIssuer(t)
  await createTrust(app, admin, { issuer: k8s.issuer })
  const { identifier: api } = await createResource(app, admin, { scopes: ['read'] })
  const subject = 'system:serviceaccount:shared:runner'
  const a = await createWorkload(app, admin, { issuer: k8s.issuer, subject }, [{ resource: api, scopes: ['read'] }])
  const b = await createWorkload(app, admin, { issuer: k8s.issuer, subject }, [{ resource: api, scopes: ['read'] }])
  const assertion = await k8s.sign(kubernetesClaims(k8s.issuer, ISSUER, 'shared', 'runner'))
  const ambiguous = await jwtBearer(app, assertion)
  t.equal(ambiguous.statusCode, 400)
  t.strictSame(ambiguous.json(), { error: 'invalid_grant', error_description: 'the assertion matches several identities: client_id is required' })
  const picked = await jwtBearer(app, assertion, { client_id: b.clientId })
  t.equal(picked.statusCode, 200)
  t.equal(decodePayload(picked.json().access_token).sub, b.id)
  const wrong = await jwtBearer(app, assertion, { client_id: 'someone-else' })
  t.strictSame([wrong.statusCode, wrong.json().error], [400, 'invalid_grant'])
  t.ok(a.id !== b.id)
})

t.test('every rejection of docs/reference/federation.md, with its exact status and error', async (t) => {
  const app = await build(root)
  const admin = await adminToken(app)
  const k8s = await startLocalIssuer(t)
  const untrusted = await startLocalIssuer(t)
  await createTrust(app, admin, { issuer: k8s.issuer, claims: { namespace: 'kubernetes.io.namespace' }, max_assertion_lifetime_s: 7200 })
  const { identifier: api } = await createResource(app, admin, { scopes: ['read'] })
  const subject = 'system:serviceaccount:team:app'
  const wl = await createWorkload(app, admin, { issuer: k8s.issuer, subject, match: { namespace: 'team' } }, [{ resource: api, scopes: ['read'] }])
  const good = (): Record<string, unknown> => kubernetesClaims(k8s.issuer, ISSUER, 'team', 'app')
  const now = Math.floor(Date.now() / 1000)
  const tallyToken = await adminToken(app)
  const foreignKey = await startLocalIssuer(t)
  const grant = (description: string): unknown => ({ error: 'invalid_grant', error_description: description })

  const cases: Array<[string, () => Promise<string>, unknown]> = [
    ['an untrusted issuer', async () => await untrusted.sign({ ...good(), iss: untrusted.issuer }), grant('assertion iss is not a trusted issuer')],
    ['a Tally access token', async () => tallyToken, grant('assertion is a tally token')],
    ['a signature by another key', async () => await foreignKey.sign(good(), { kid: k8s.kid() }), grant('assertion signature does not verify')],
    ['an unknown kid', async () => await k8s.sign(good(), { kid: 'not-in-the-jwks' }), grant('no key of the trust jwks matches the assertion kid and alg')],
    ['alg none', async () => unsignedJwt({ alg: 'none' }, good()) + 'x', grant('assertion alg is not an accepted asymmetric algorithm')],
    ['alg HS256', async () => unsignedJwt({ alg: 'HS256', kid: k8s.kid() }, good()) + 'c2ln', grant('assertion alg is not an accepted asymmetric algorithm')],
    ['aud without the trust audience', async () => await k8s.sign({ ...good(), aud: ['https://elsewhere.example'] }), grant('assertion aud does not contain the trust audience')],
    ['no exp', async () => { const c = good(); delete c.exp; return await k8s.sign(c) }, grant('assertion exp is missing')],
    ['exp past', async () => await k8s.sign({ ...good(), iat: now - 600, nbf: now - 600, exp: now - 1 }), grant('assertion has expired')],
    ['nbf in the future', async () => await k8s.sign({ ...good(), nbf: now + 120 }), grant('assertion nbf is in the future')],
    ['iat in the future', async () => await k8s.sign({ ...good(), iat: now + 120, nbf: now }), grant('assertion iat is in the future')],
    ['a lifetime over the trust maximum', async () => await k8s.sign({ ...good(), exp: now + 7201 + 60, iat: now, nbf: now }), grant('assertion lifetime exceeds the trust maximum')],
    ['an unknown subject', async () => await k8s.sign({ ...good(), sub: 'system:serviceaccount:team:other' }), grant('no federated credential matches the assertion sub and context')],
    ['a context that fails match', async () => await k8s.sign({ ...good(), 'kubernetes.io': { namespace: 'other-team' } }), grant('no federated credential matches the assertion sub and context')],
    ['no sub', async () => { const c = good(); delete c.sub; return await k8s.sign(c) }, grant('assertion sub is missing or invalid')],
    ['a NUL in sub', async () => await k8s.sign({ ...good(), sub: 'system:serviceaccount:team:app\u0000' }), grant('assertion sub is missing or invalid')],
    ['a NUL in iss', async () => await k8s.sign({ ...good(), iss: `${k8s.issuer}\u0000` }), grant('assertion iss is missing or invalid')],
    ['not a JWS', async () => 'not.a-jwt', grant('assertion is not a compact jws')],
    ['a header that is not JSON', async () => `${Buffer.from('{').toString('base64url')}.e30.c2ln`, grant('assertion header is not valid json')]
  ]
  const failures: string[] = []
  for (const [what, make, expected] of cases) {
    const res = await jwtBearer(app, await make())
    if (res.statusCode !== 400 || JSON.stringify(res.json()) !== JSON.stringify(expected)) failures.push(`${what}: ${res.statusCode} ${res.body}`)
    if (res.headers['cache-control'] !== 'no-store') failures.push(`${what}: cache-control`)
    if (res.body.includes('eyJ')) failures.push(`${what}: echoes a token`)
  }
  t.strictSame(failures, [], 'each rejection is 400 invalid_grant naming the failed check, never echoing the token')

  // Within the 30 s leeway, iat/nbf slightly in the future are accepted.
  const skewed = await jwtBearer(app, await k8s.sign({ ...good(), iat: now + 20, nbf: now + 20 }))
  t.equal(skewed.statusCode, 200, 'clock skew within 30 s')

  // A disabled identity, then a revoked federated credential: no more tokens.
  const disabled = await adminCall(app, admin, 'PATCH', `/admin/identities/${wl.id}`, { status: 'disabled' })
  t.equal(disabled.statusCode, 200)
  const res = await jwtBearer(app, await k8s.sign(good()))
  t.strictSame([res.statusCode, res.json()], [400, grant('no federated credential matches the assertion sub and context')], 'a disabled identity')
})

t.test('the grant allows no other client authentication and needs an assertion', async (t) => {
  const app = await build(root)
  const k8s = await startLocalIssuer(t)
  const assertion = await k8s.sign(kubernetesClaims(k8s.issuer, ISSUER, 'x', 'y'))
  const withBasic = await jwtBearer(app, assertion, {}, { authorization: adminBasic })
  t.equal(withBasic.statusCode, 400)
  t.strictSame(withBasic.json(), { error: 'invalid_request', error_description: 'client authentication is not allowed with the jwt-bearer grant' })
  const withSecret = await jwtBearer(app, assertion, { client_id: 'admin', client_secret: ADMIN_SECRET })
  t.strictSame([withSecret.statusCode, withSecret.json().error], [400, 'invalid_request'])
  // Client authentication still comes first (docs/reference/endpoints.md): a wrong secret is the usual 401.
  assertInvalidClient(t, await jwtBearer(app, assertion, {}, { authorization: basic('admin', 'tly_wrong') }), 'a wrong secret with the grant')
  const missing = await app.inject({ method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer' })
  t.equal(missing.statusCode, 400)
  t.strictSame(missing.json(), { error: 'invalid_request', error_description: 'assertion is required' })
  const control = await jwtBearer(app, 'a\u0001b')
  t.equal(control.statusCode, 400, 'a control character is a 400, never a 5xx')
})

t.test('RFC 8414 metadata lists the grant', async (t) => {
  const app = await build(root)
  const res = await app.inject({ url: '/.well-known/oauth-authorization-server' })
  t.ok(res.json().grant_types_supported.includes('urn:ietf:params:oauth:grant-type:jwt-bearer'))
})

t.test('removing the trust makes its tokens inactive at once, and changing it bumps', async (t) => {
  const app = await build(root)
  const other = await build(root) // a second instance on the same database
  const admin = await adminToken(app)
  const k8s = await startLocalIssuer(t)
  const trust = await createTrust(app, admin, { issuer: k8s.issuer, claims: { namespace: 'kubernetes.io.namespace' } })
  const { identifier: api } = await createResource(app, admin, { scopes: ['read'] })
  const wl = await createWorkload(app, admin, { issuer: k8s.issuer, subject: 'system:serviceaccount:ns:sa' }, [{ resource: api, scopes: ['read'] }])
  const mint = async (): Promise<string> => {
    const res = await jwtBearer(app, await k8s.sign(kubernetesClaims(k8s.issuer, ISSUER, 'ns', 'sa')))
    return expectStatus(res, 200).access_token
  }

  const renamed = await mint()
  expectStatus(await adminCall(app, admin, 'PATCH', `/admin/trusts/${trust.id as string}`, { name: 'renamed' }), 200)
  t.equal((await introspection(other, adminBasic, renamed)).active, true, 'a rename narrows nothing')
  t.equal(await epochOf(app, wl.id), 1)

  const remapped = await mint()
  expectStatus(await adminCall(app, admin, 'PATCH', `/admin/trusts/${trust.id as string}`, { claims: { ns: 'kubernetes.io.namespace' } }), 200)
  t.strictSame(await introspection(other, adminBasic, remapped), { active: false }, 'a mapping change makes its tokens stale')
  t.equal(await epochOf(app, wl.id), 2)

  const token = await mint()
  t.equal((await introspection(other, adminBasic, token)).active, true)
  const removed = await adminCall(app, admin, 'DELETE', `/admin/trusts/${trust.id as string}`)
  t.equal(removed.statusCode, 204)
  t.strictSame(await introspection(other, adminBasic, token), { active: false }, 'inactive at once, on another instance')
  t.equal(await epochOf(app, wl.id), 3)
  const after = await jwtBearer(app, await k8s.sign(kubernetesClaims(k8s.issuer, ISSUER, 'ns', 'sa')))
  t.strictSame([after.statusCode, after.json()], [400, { error: 'invalid_grant', error_description: 'assertion iss is not a trusted issuer' }])
  const identity = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${wl.id}`), 200)
  t.ok(identity.credentials[0].revoked_at !== null, 'its federated credential is revoked')
})
