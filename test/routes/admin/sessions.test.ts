// GET /admin/identities/:id/sessions on delegated tokens (docs/reference/admin-api.md, delegation.md): a session exchanged
// under delegations (RFC 8693) is `stale` as soon as ANY party of its chain — the subject or any actor — has
// moved on (bumped), is disabled or deleted: the list says exactly what /introspect says of each token.
import t from '../../support/tap.js'
import { adminCall, adminToken, build, decodePayload } from '../../helper.js'
import { expectStatus } from '../../support/admin.js'
import { introspection, tokenFor } from '../../support/oauth.js'
import { chainFixture, exchanged, type Chain } from '../../delegation/fixture.js'

const app = await build(t)
const admin = await adminToken(app)

/** jti → stale, for the subject's sessions, in the order of `tokens`. */
async function staleness (c: Chain, tokens: string[]): Promise<boolean[]> {
  const listed = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${c.subject.id}/sessions`), 200)
  const byJti = new Map<string, boolean>(listed.items.map((s: any) => [s.jti, s.stale]))
  return tokens.map((token) => byJti.get(decodePayload(token).jti as string) as boolean)
}

// subject → a → b: root is the subject's own token, hop1 exchanged by a, hop2 by b from hop1.
const cases: Array<[string, (c: Chain) => Promise<void>, [boolean, boolean, boolean]]> = [
  ['nothing changed', async () => {}, [false, false, false]],
  ['actor b is bumped', async (c) => { expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${c.b.id}/revoke-sessions`, {}), 200) }, [false, false, true]],
  ['actor a is bumped', async (c) => { expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${c.a.id}/revoke-sessions`, {}), 200) }, [false, true, true]],
  ['actor b is disabled', async (c) => { expectStatus(await adminCall(app, admin, 'PATCH', `/admin/identities/${c.b.id}`, { status: 'disabled' }), 200) }, [false, false, true]],
  ['actor a is deleted', async (c) => { expectStatus(await adminCall(app, admin, 'DELETE', `/admin/identities/${c.a.id}`), 204) }, [false, true, true]],
  ['the subject is bumped', async (c) => { expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${c.subject.id}/revoke-sessions`, {}), 200) }, [true, true, true]]
]

for (const [what, change, expected] of cases) {
  t.test(`${what}: stale = [root, hop1, hop2] ${JSON.stringify(expected)}, as /introspect says`, async (t) => {
    const c = await chainFixture(app, admin)
    const root = await tokenFor(app, c.subject, { resource: c.resource })
    const hop1 = await exchanged(app, c.a, root)
    const hop2 = await exchanged(app, c.b, hop1)
    await change(c)
    const tokens = [root, hop1, hop2]
    const active = await Promise.all(tokens.map(async (token) => (await introspection(app, c.rs, token)).active as boolean))
    t.strictSame({ stale: await staleness(c, tokens), introspected_active: active }, { stale: expected, introspected_active: expected.map((s) => !s) })
  })
}
