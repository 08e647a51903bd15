// GET /openapi.json: every admin operation reads well in generated clients and docs — a summary, a
// description and a tag on each, from the one table in server/plugins/openapi-operations.ts.
import t from '../support/tap.js'
import { build } from '../helper.js'

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options'])

interface Operation { summary?: string | null, description?: string | null, tags?: string[] }

t.test('every operation in /openapi.json has a non-empty summary, description and tag', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(res.statusCode, 200)
  const paths = res.json().paths as Record<string, Record<string, Operation>>
  const operations = Object.entries(paths).flatMap(([path, item]) =>
    Object.entries(item).filter(([method]) => METHODS.has(method)).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })))
  t.ok(operations.length >= 19, `the admin API is described (${operations.length} operations)`)
  const undescribed = operations
    .filter(({ op }) => !(typeof op.summary === 'string' && op.summary.trim() !== '' && typeof op.description === 'string' &&
      op.description.trim() !== '' && Array.isArray(op.tags) && op.tags.length > 0))
    .map(({ name }) => name)
  t.same(undescribed, [], 'operations without a summary, description or tag (add them to server/plugins/openapi-operations.ts)')
})

t.test('an operation carries the text written for its method and path', async (t) => {
  const app = await build(t)
  const paths = (await app.inject({ method: 'GET', url: '/openapi.json' })).json().paths as Record<string, Record<string, Operation>>
  const op = paths['/admin/identities/{id}/credentials/{cid}']?.delete
  t.same({ summary: op?.summary, tags: op?.tags }, { summary: 'Revoke a credential', tags: ['credentials'] })
})
