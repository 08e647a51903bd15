// The pure parts of docs/reference/federation.md's context: claim paths (longest run of names that is a key wins), the flat
// context (missing → left out, non-strings JSON-encoded), and conditions against it.
import t from '../support/tap.js'
import { buildContext, claimAt } from '../../server/federation/claims-context.js'
import { conditionsHold, entitlementsForContext } from '../../server/entitlements/context.js'

t.test('claim paths', async (t) => {
  const claims = { 'kubernetes.io': { namespace: 'prod', pod: { name: 'web-1' } }, kubernetes: { io: 'short' }, a: { b: { c: 1 } }, 'a.b': 'dotted' }
  t.strictSame([
    claimAt(claims, 'kubernetes.io.namespace'),
    claimAt(claims, 'kubernetes.io.pod.name'),
    claimAt(claims, 'kubernetes.io'),
    claimAt(claims, 'a.b'),
    claimAt(claims, 'a.b.c'),
    claimAt(claims, 'missing.path'),
    claimAt(claims, 'kubernetes.io.namespace.deeper')
  ], [
    'prod',
    'web-1',
    { namespace: 'prod', pod: { name: 'web-1' } },
    'dotted',
    undefined, // "a.b" is a key at the top, and its value is a string: nothing below it
    undefined,
    undefined
  ])
})

t.test('the context', async (t) => {
  const ctx = buildContext({ env: 'staging', attempt: 2, flags: ['x'], ok: true, nothing: null }, {
    environment: 'env', run_attempt: 'attempt', flags: 'flags', ok: 'ok', nothing: 'nothing', absent: 'not.there'
  })
  t.strictSame(ctx, { environment: 'staging', run_attempt: '2', flags: '["x"]', ok: 'true', nothing: 'null' })
})

t.test('conditions against the context', async (t) => {
  const ctx = { environment: 'staging', run_attempt: '2' }
  t.strictSame([
    conditionsHold(null, ctx),
    conditionsHold({}, ctx),
    conditionsHold({ environment: 'staging' }, ctx),
    conditionsHold({ environment: 'production' }, ctx),
    conditionsHold({ environment: 'staging', region: 'eu' }, ctx),
    conditionsHold({ run_attempt: 2 }, ctx),
    conditionsHold({ toString: 'x' }, ctx)
  ], [true, true, true, false, false, true, false])
  const entitlements = [{ id: 1, conditions: null }, { id: 2, conditions: { environment: 'staging' } }, { id: 3, conditions: { environment: 'production' } }]
  t.strictSame(entitlementsForContext(entitlements, ctx).map((e) => e.id), [1, 2])
  t.strictSame(entitlementsForContext(entitlements, undefined).map((e) => e.id), [1, 2, 3], 'no context: as before')
})
