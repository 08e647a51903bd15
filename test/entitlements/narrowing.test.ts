// What counts as narrowing (docs/reference/concepts.md "epoch"), as a table.
import t from '../support/tap.js'
import { narrows, type Holding } from '../../server/entitlements/narrowing.js'

const NOW = 1_800_000_000_000
const h = (scopes: string[], extra: Partial<Holding> = {}): Holding => ({ resourceId: 'r1', scopes, conditions: null, expiresAtMs: null, ...extra })

const cases: Array<[string, Holding[], Holding[], boolean]> = [
  ['nothing before, nothing after', [], [], false],
  ['an addition', [h(['read'])], [h(['read']), h(['write'])], false],
  ['the same set', [h(['read', 'write'])], [h(['write', 'read'])], false],
  ['a scope removed', [h(['read', 'write'])], [h(['read'])], true],
  ['an entitlement removed', [h(['read'])], [], true],
  ['conditions changed', [h(['read'], { conditions: { env: 'prod' } })], [h(['read'], { conditions: { env: 'dev' } })], true],
  ['conditions in another key order', [h(['read'], { conditions: { a: 1, b: 2 } })], [h(['read'], { conditions: { b: 2, a: 1 } })], false],
  ['expiry brought forward', [h(['read'], { expiresAtMs: NOW + 2000 })], [h(['read'], { expiresAtMs: NOW + 1000 })], true],
  ['expiry set where there was none', [h(['read'])], [h(['read'], { expiresAtMs: NOW + 1000 })], true],
  ['expiry pushed back', [h(['read'], { expiresAtMs: NOW + 1000 })], [h(['read'], { expiresAtMs: NOW + 2000 })], false],
  ['an expired entitlement removed', [h(['read'], { expiresAtMs: NOW - 1 })], [], false],
  ['moved to another resource', [h(['read'])], [h(['read'], { resourceId: 'r2' })], true],
  ['split across two entitlements', [h(['read', 'write'])], [h(['read']), h(['write'])], false]
]

t.test('narrows(before, after)', async (t) => {
  const failures = cases.filter(([, before, after, expected]) => narrows(before, after, NOW) !== expected).map(([name]) => name)
  t.strictSame(failures, [], `${cases.length} cases`)
})
