// Admin list cursors (docs/reference/admin-api.md lists; issue 9 finding 9): a malformed cursor is 400 naming the field, never
// a 500 — `AA` decodes to a NUL, 36 dashes pass a character-class check but are no UUID.
import t from '../../support/tap.js'
import { adminCall, adminToken, build } from '../../helper.js'
import { createClient, createResource } from '../../support/admin.js'

const app = await build(t)
const admin = await adminToken(app)

t.test('malformed cursors → 400 invalid_request "cursor is malformed"', async (t) => {
  const svc = await createClient(app, admin)
  const cases: Array<[string, string]> = [
    ['resources, a NUL', '/admin/resources?cursor=AA'],
    ['resources, not base64url', '/admin/resources?cursor=%2F%2F'],
    ['resources, empty after decoding', '/admin/resources?cursor='],
    ['resources, not UTF-8', '/admin/resources?cursor=_w'],
    ['sessions, 36 dashes', `/admin/identities/${svc.id}/sessions?cursor=${'-'.repeat(36)}`],
    ['sessions, not a UUID', `/admin/identities/${svc.id}/sessions?cursor=zz`],
    ['identities, not a UUID', '/admin/identities?cursor=AA']
  ]
  const failures: string[] = []
  for (const [name, url] of cases) {
    const res = await adminCall(app, admin, 'GET', url)
    if (res.statusCode !== 400 || res.body !== JSON.stringify({ error: 'invalid_request', error_description: 'cursor is malformed' })) failures.push(`${name}: ${res.statusCode} ${res.body}`)
  }
  t.strictSame(failures, [], `${cases.length} cursors`)
})

t.test('a well-formed resources cursor still pages', async (t) => {
  await createResource(app, admin)
  const first = (await adminCall(app, admin, 'GET', '/admin/resources?limit=1')).json()
  t.type(first.next_cursor, 'string', 'more than one resource exists')
  const second = await adminCall(app, admin, 'GET', `/admin/resources?limit=1&cursor=${first.next_cursor as string}`)
  t.equal(second.statusCode, 200)
  t.not(second.json().items[0]?.identifier, first.items[0].identifier, 'the next page starts after the cursor')
})
