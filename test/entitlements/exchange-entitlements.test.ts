// What one token exchange may carry (docs/reference/delegation.md, docs/decisions.md §32): request ∩ the subject's live
// entitlements ∩ the holder→actor delegations ∩ every earlier delegation, the lifetime caps, and the refusals in order.
import t from '../support/tap.js'
import { decideExchange, type ExchangeFacts, type SubjectEntitlement } from '../../server/entitlements/exchange-entitlements.js'
import type { LiveDelegation } from '../../server/store/delegations.js'

const NOW_S = 1_800_000_000
const ent = (resource: string, scopes: string[], extra: Partial<SubjectEntitlement> = {}): SubjectEntitlement =>
  ({ resourceId: `id-${resource}`, resource, scopes, conditions: null, expiresAtS: null, ...extra })
const del = (id: string, resource: string, scopes: string[], extra: Partial<LiveDelegation> = {}): LiveDelegation =>
  ({ id, subject_id: 'holder', actor_id: 'actor', resource_id: `id-${resource}`, resource, max_ttl: null, scopes, expires_at: null, ...extra })
const facts = (over: Partial<ExchangeFacts>): ExchangeFacts => ({
  entitlements: [ent('urn:a', ['read', 'write'])],
  offered: [del('d1', 'urn:a', ['read', 'write'])],
  chainIds: [],
  chain: [],
  requestedResource: undefined,
  requestedScopes: undefined,
  context: undefined,
  actorTtlS: null,
  subjectTtlS: null,
  defaultTtlS: 600,
  maxTtlS: 3600,
  subjectExpS: NOW_S + 3000,
  nowS: NOW_S,
  ...over
})

t.test('decisions', async (t) => {
  const cases: Array<[string, ExchangeFacts, object]> = [
    ['one hop, everything delegated', facts({}),
      { resource: 'urn:a', resourceId: 'id-urn:a', scopes: ['read', 'write'], entitlements: [{ resource: 'urn:a', scopes: ['read', 'write'] }], delegationIds: ['d1'], expS: NOW_S + 600 }],
    ['narrowed by the delegation', facts({ offered: [del('d1', 'urn:a', ['read'])] }),
      { resource: 'urn:a', resourceId: 'id-urn:a', scopes: ['read'], entitlements: [{ resource: 'urn:a', scopes: ['read'] }], delegationIds: ['d1'], expS: NOW_S + 600 }],
    ['narrowed by the subject\'s live entitlements', facts({ entitlements: [ent('urn:a', ['write']), ent('urn:a', ['read'], { expiresAtS: NOW_S })] }),
      { resource: 'urn:a', resourceId: 'id-urn:a', scopes: ['write'], entitlements: [{ resource: 'urn:a', scopes: ['write'] }], delegationIds: ['d1'], expS: NOW_S + 600 }],
    ['narrowed by every earlier delegation; both recorded', facts({ chainIds: ['d0'], chain: [del('d0', 'urn:a', ['read'])] }),
      { resource: 'urn:a', resourceId: 'id-urn:a', scopes: ['read'], entitlements: [{ resource: 'urn:a', scopes: ['read'] }], delegationIds: ['d1', 'd0'], expS: NOW_S + 600 }],
    ['a requested scope', facts({ requestedScopes: ['write'] }),
      { resource: 'urn:a', resourceId: 'id-urn:a', scopes: ['write'], entitlements: [{ resource: 'urn:a', scopes: ['write'] }], delegationIds: ['d1'], expS: NOW_S + 600 }],
    ['only the delegations contributing a granted scope are recorded', facts({ offered: [del('d1', 'urn:a', ['read']), del('d2', 'urn:a', ['write'])], requestedScopes: ['write'] }),
      { resource: 'urn:a', resourceId: 'id-urn:a', scopes: ['write'], entitlements: [{ resource: 'urn:a', scopes: ['write'] }], delegationIds: ['d2'], expS: NOW_S + 600 }],
    ['a chain stays on its first resource', facts({ entitlements: [ent('urn:a', ['read']), ent('urn:b', ['read'])], offered: [del('d1', 'urn:a', ['read']), del('d2', 'urn:b', ['read'])], chainIds: ['d0'], chain: [del('d0', 'urn:b', ['read'])] }),
      { resource: 'urn:b', resourceId: 'id-urn:b', scopes: ['read'], entitlements: [{ resource: 'urn:b', scopes: ['read'] }], delegationIds: ['d2', 'd0'], expS: NOW_S + 600 }],
    ['the federated context filters the subject\'s entitlements', facts({ entitlements: [ent('urn:a', ['read'], { conditions: { env: 'dev' } }), ent('urn:a', ['write'], { conditions: { env: 'prod' } })], context: { env: 'dev' } }),
      { resource: 'urn:a', resourceId: 'id-urn:a', scopes: ['read'], entitlements: [{ resource: 'urn:a', scopes: ['read'], conditions: { env: 'dev' } }], delegationIds: ['d1'], expS: NOW_S + 600 }],
    ['lifetime: the smaller of the actor\'s and the subject\'s ttl', facts({ actorTtlS: 900, subjectTtlS: 300 }),
      { resource: 'urn:a', resourceId: 'id-urn:a', scopes: ['read', 'write'], entitlements: [{ resource: 'urn:a', scopes: ['read', 'write'] }], delegationIds: ['d1'], expS: NOW_S + 300 }],
    ['lifetime: the resource cap and the global cap', facts({ actorTtlS: 86_400, subjectTtlS: 86_400, offered: [del('d1', 'urn:a', ['read', 'write'], { max_ttl: 120 })] }),
      { resource: 'urn:a', resourceId: 'id-urn:a', scopes: ['read', 'write'], entitlements: [{ resource: 'urn:a', scopes: ['read', 'write'] }], delegationIds: ['d1'], expS: NOW_S + 120 }],
    ['lifetime: never past the subject token, a delegation, an entitlement or the assertion', facts({ subjectExpS: NOW_S + 50, chainIds: ['d0'], chain: [del('d0', 'urn:a', ['read', 'write'], { expires_at: NOW_S + 40 })], entitlements: [ent('urn:a', ['read', 'write'], { expiresAtS: NOW_S + 30 })], notAfterS: NOW_S + 20 }),
      { resource: 'urn:a', resourceId: 'id-urn:a', scopes: ['read', 'write'], entitlements: [{ resource: 'urn:a', scopes: ['read', 'write'], expires_at: NOW_S + 30 }], delegationIds: ['d1', 'd0'], expS: NOW_S + 20 }]
  ]
  const failures: string[] = []
  for (const [name, input, expected] of cases) {
    const got = decideExchange(input)
    if (JSON.stringify(got) !== JSON.stringify(expected)) failures.push(`${name}: ${JSON.stringify(got)}`)
  }
  t.strictSame(failures, [], `${cases.length} cases`)
})

t.test('refusals, in order', async (t) => {
  const cases: Array<[string, ExchangeFacts, string, string]> = [
    ['an earlier delegation is gone', facts({ chainIds: ['d0', 'dx'], chain: [del('d0', 'urn:a', ['read'])] }), 'invalid_grant', 'a delegation earlier in the chain is no longer active'],
    ['an earlier delegation expired this second', facts({ chainIds: ['d0'], chain: [del('d0', 'urn:a', ['read'], { expires_at: NOW_S })] }), 'invalid_grant', 'a delegation earlier in the chain is no longer active'],
    ['no delegation to this actor', facts({ offered: [] }), 'invalid_grant', 'no active delegation from the subject token\'s holder to this client'],
    ['only an expired one', facts({ offered: [del('d1', 'urn:a', ['read'], { expires_at: NOW_S - 1 })] }), 'invalid_grant', 'no active delegation from the subject token\'s holder to this client'],
    ['a resource the delegations do not cover', facts({ requestedResource: 'urn:b' }), 'invalid_target', 'the delegation chain does not cover the requested resource'],
    ['several resources, none asked for', facts({ offered: [del('d1', 'urn:a', ['read']), del('d2', 'urn:b', ['read'])] }), 'invalid_target', 'resource is required: the delegations cover several resources'],
    ['off the chain\'s resource', facts({ offered: [del('d1', 'urn:a', ['read'])], chainIds: ['d0'], chain: [del('d0', 'urn:b', ['read'])] }), 'invalid_target', 'the delegation chain covers no resource'],
    ['the subject holds nothing there', facts({ entitlements: [ent('urn:b', ['read'])] }), 'invalid_target', 'the subject holds no entitlement on the requested resource'],
    ['the resource is checked before the scope', facts({ requestedResource: 'urn:b', requestedScopes: ['admin'] }), 'invalid_target', 'the delegation chain does not cover the requested resource'],
    ['a scope not allowed', facts({ requestedScopes: ['admin'] }), 'invalid_scope', 'requested scope is not allowed'],
    ['nothing left in the intersection', facts({ offered: [del('d1', 'urn:a', ['admin'])] }), 'invalid_scope', 'the delegation chain allows no scope on this resource']
  ]
  const failures: string[] = []
  for (const [name, input, error, description] of cases) {
    try {
      decideExchange(input)
      failures.push(`${name}: no error`)
    } catch (err) {
      const got = (err as { toJSON?: () => unknown }).toJSON?.()
      if (JSON.stringify(got) !== JSON.stringify({ error, error_description: description })) failures.push(`${name}: ${JSON.stringify(got)}`)
    }
  }
  t.strictSame(failures, [], `${cases.length} cases`)
})
