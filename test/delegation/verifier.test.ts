// The exchange through real clients on a real port: openid-client's genericGrantRequest is the actor,
// jose verifies the delegated token as a resource server would, and the verifier library follows the
// epoch feed. For the two-hop chain subject → a → b, each way a party loses access (a bump of each party,
// each delegation removed, the root token revoked) makes the derived tokens inactive at /introspect at
// once and stale (or revoked) in the verifier within the feed's bound.
import t from '../support/tap.js'
import * as client from 'openid-client'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { createVerifier } from '../../packages/verifier/src/index.js'
import { adminCall, adminToken, basic, form, FORM_TYPE, ISSUER } from '../helper.js'
import { expectStatus, type TestClient } from '../support/admin.js'
import { introspection, tokenFor } from '../support/oauth.js'
import { type Instance, startInstance } from '../support/instances.js'
import { waitFor } from '../support/wait.js'
import { ACCESS_TOKEN_TYPE, chainFixture, TOKEN_EXCHANGE, type Chain } from './fixture.js'

const root = t
const FEED_BOUND_MS = 2000 + 1000 // FEED_MAX_STALENESS_S=2 in startInstance, plus scheduling slack

function actorConfig (a: Instance, actor: TestClient): client.Configuration {
  const config = new client.Configuration({ issuer: ISSUER, token_endpoint: `${a.url}/token` }, actor.clientId, undefined, client.ClientSecretBasic(actor.secret))
  client.allowInsecureRequests(config)
  return config
}

async function exchangeWithOpenidClient (a: Instance, actor: TestClient, subjectToken: string): Promise<client.TokenEndpointResponse> {
  return await client.genericGrantRequest(actorConfig(a, actor), TOKEN_EXCHANGE, { subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE })
}

type Break = [string, (a: Instance, admin: string, c: Chain, rootToken: string) => Promise<void>, 'stale' | 'revoked']
const breaks: Break[] = [
  ['subject bumped', async (a, admin, c) => { expectStatus(await adminCall(a.app, admin, 'POST', `/admin/identities/${c.subject.id}/revoke-sessions`, {}), 200) }, 'stale'],
  ['actor a bumped', async (a, admin, c) => { expectStatus(await adminCall(a.app, admin, 'POST', `/admin/identities/${c.a.id}/revoke-sessions`, {}), 200) }, 'stale'],
  ['actor b bumped', async (a, admin, c) => { expectStatus(await adminCall(a.app, admin, 'POST', `/admin/identities/${c.b.id}/revoke-sessions`, {}), 200) }, 'stale'],
  ['delegation subject→a deleted', async (a, admin, c) => { expectStatus(await adminCall(a.app, admin, 'DELETE', `/admin/identities/${c.subject.id}/delegations/${c.sa.id as string}`), 204) }, 'stale'],
  ['delegation a→b deleted', async (a, admin, c) => { expectStatus(await adminCall(a.app, admin, 'DELETE', `/admin/identities/${c.a.id}/delegations/${c.ab.id as string}`), 204) }, 'stale'],
  ['root token revoked', async (a, _admin, c, rootToken) => {
    const res = await a.app.inject({ method: 'POST', url: '/revoke', headers: { authorization: basic(c.subject.clientId, c.subject.secret), 'content-type': FORM_TYPE }, payload: form({ token: rootToken }) })
    expectStatus(res, 200)
  }, 'revoked']
]

for (const [what, breakIt, reason] of breaks) {
  t.test(`${what}: the hop-2 token dies at /introspect at once and in the verifier within the feed bound`, async (t) => {
    const a = await startInstance(root, t)
    const admin = await adminToken(a.app)
    const c = await chainFixture(a.app, admin)
    const rootToken = await tokenFor(a.app, c.subject, { resource: c.resource })
    const hop1 = await exchangeWithOpenidClient(a, c.a, rootToken)
    t.equal(hop1.issued_token_type, ACCESS_TOKEN_TYPE, 'RFC 8693 §2.2.1 response through openid-client')
    const hop2 = (await exchangeWithOpenidClient(a, c.b, hop1.access_token)).access_token

    const jwks = createRemoteJWKSet(new URL(`${a.url}/.well-known/jwks.json`))
    const { payload } = await jwtVerify(hop2, jwks, { issuer: ISSUER, audience: c.resource, typ: 'at+jwt', algorithms: ['ES256'] })
    t.match(payload, { sub: c.subject.id, client_id: c.b.clientId, act: { sub: c.b.id, act: { sub: c.a.id } } }, 'jose verifies the delegated token')

    const verifier = await createVerifier({ issuer: ISSUER, serverUrl: a.url, audience: c.resource, clientId: c.rs.clientId, clientSecret: c.rs.secret })
    a.onClosed(async () => await verifier.close())
    t.equal((await verifier.verify(hop2, { scopes: ['read'] })).active, true, 'the verifier accepts it before')

    await breakIt(a, admin, c, rootToken)
    t.strictSame(await introspection(a.app, c.rs, hop2), { active: false }, 'inactive at /introspect at once')
    const started = Date.now()
    await waitFor(async () => !(await verifier.verify(hop2, { scopes: ['read'] })).active, { what: 'the verifier to refuse the token' })
    const waited = Date.now() - started
    t.ok(waited < FEED_BOUND_MS, `refused within the feed bound (${waited} ms)`)
    t.strictSame(await verifier.verify(hop2, { scopes: ['read'] }), { active: false, reason })
  })
}
