// Which entitlements a token request gets (docs/reference/endpoints.md): resource choice, scopes, lifetime caps, conditions.
import t from '../support/tap.js'
import { decideTokenEntitlements, type TokenRequestFacts } from '../../server/entitlements/token-entitlements.js'
import type { ClientEntitlement } from '../../server/store/clients.js'

const NOW_S = 1_800_000_000
const e = (resource: string, scopes: string[], extra: Partial<ClientEntitlement> = {}): ClientEntitlement =>
  ({ id: `e-${resource}-${scopes.join('+')}`, resourceId: `id-${resource}`, resource, resourceMaxTtlS: null, scopes, conditions: null, expiresAtS: null, ...extra })
const facts = (over: Partial<TokenRequestFacts>): TokenRequestFacts =>
  ({ entitlements: [], requestedResource: undefined, scope: undefined, identityTtlS: null, defaultTtlS: 600, maxTtlS: 3600, nowS: NOW_S, ...over })

t.test('decisions', async (t) => {
  const cases: Array<[string, TokenRequestFacts, object]> = [
    ['the only resource, every held scope', facts({ entitlements: [e('urn:a', ['read', 'write'])] }),
      { resource: 'urn:a', resourceId: 'id-urn:a', scopes: ['read', 'write'], entitlements: [{ resource: 'urn:a', scopes: ['read', 'write'] }], entitlementIds: ['e-urn:a-read+write'], expS: NOW_S + 600 }],
    ['the requested resource among several, a requested scope', facts({ entitlements: [e('urn:a', ['read']), e('urn:b', ['read', 'write'])], requestedResource: 'urn:b', scope: 'write' }),
      { resource: 'urn:b', resourceId: 'id-urn:b', scopes: ['write'], entitlements: [{ resource: 'urn:b', scopes: ['write'] }], entitlementIds: ['e-urn:b-read+write'], expS: NOW_S + 600 }],
    ['conditions travel; only entitlements that back a granted scope', facts({ entitlements: [e('urn:a', ['read'], { conditions: { env: 'dev' } }), e('urn:a', ['write'])], scope: 'read' }),
      { resource: 'urn:a', resourceId: 'id-urn:a', scopes: ['read'], entitlements: [{ resource: 'urn:a', scopes: ['read'], conditions: { env: 'dev' } }], entitlementIds: ['e-urn:a-read'], expS: NOW_S + 600 }],
    ['identity ttl, under the resource cap and the global cap', facts({ entitlements: [e('urn:a', ['read'], { resourceMaxTtlS: 300 })], identityTtlS: 900 }),
      { resource: 'urn:a', resourceId: 'id-urn:a', scopes: ['read'], entitlements: [{ resource: 'urn:a', scopes: ['read'] }], entitlementIds: ['e-urn:a-read'], expS: NOW_S + 300 }],
    ['the global cap', facts({ entitlements: [e('urn:a', ['read'])], identityTtlS: 86_400 }),
      { resource: 'urn:a', resourceId: 'id-urn:a', scopes: ['read'], entitlements: [{ resource: 'urn:a', scopes: ['read'] }], entitlementIds: ['e-urn:a-read'], expS: NOW_S + 3600 }],
    ['an entitlement expiry caps exp and travels', facts({ entitlements: [e('urn:a', ['read'], { expiresAtS: NOW_S + 60 })] }),
      { resource: 'urn:a', resourceId: 'id-urn:a', scopes: ['read'], entitlements: [{ resource: 'urn:a', scopes: ['read'], expires_at: NOW_S + 60 }], entitlementIds: ['e-urn:a-read'], expS: NOW_S + 60 }],
    ['an entitlement expiring this second is ignored', facts({ entitlements: [e('urn:a', ['read'], { expiresAtS: NOW_S }), e('urn:b', ['read'])] }),
      { resource: 'urn:b', resourceId: 'id-urn:b', scopes: ['read'], entitlements: [{ resource: 'urn:b', scopes: ['read'] }], entitlementIds: ['e-urn:b-read'], expS: NOW_S + 600 }]
  ]
  const failures: string[] = []
  for (const [name, input, expected] of cases) {
    const got = decideTokenEntitlements(input)
    if (JSON.stringify(got) !== JSON.stringify(expected)) failures.push(`${name}: ${JSON.stringify(got)}`)
  }
  t.strictSame(failures, [], `${cases.length} cases`)
})

t.test('refusals', async (t) => {
  const cases: Array<[string, TokenRequestFacts, string, string]> = [
    ['no entitlements', facts({}), 'invalid_target', 'the client holds no entitlements'],
    ['several resources, none asked for', facts({ entitlements: [e('urn:a', ['read']), e('urn:b', ['read'])] }), 'invalid_target', 'resource is required: the client is entitled to several resources'],
    ['a resource not entitled', facts({ entitlements: [e('urn:a', ['read'])], requestedResource: 'urn:b' }), 'invalid_target', 'the client is not entitled to the requested resource'],
    ['the resource is checked before the scope', facts({ entitlements: [e('urn:a', ['read'])], requestedResource: 'urn:b', scope: '"' }), 'invalid_target', 'the client is not entitled to the requested resource'],
    ['a scope not held', facts({ entitlements: [e('urn:a', ['read'])], scope: 'read write' }), 'invalid_scope', 'requested scope is not allowed'],
    ['a malformed scope', facts({ entitlements: [e('urn:a', ['read'])], scope: 'read "' }), 'invalid_scope', 'scope is malformed'],
    ['only expired entitlements', facts({ entitlements: [e('urn:a', ['read'], { expiresAtS: NOW_S - 1 })] }), 'invalid_target', 'the client holds no entitlements']
  ]
  const failures: string[] = []
  for (const [name, input, error, description] of cases) {
    try {
      decideTokenEntitlements(input)
      failures.push(`${name}: no error`)
    } catch (err) {
      const got = (err as { toJSON?: () => unknown }).toJSON?.()
      if (JSON.stringify(got) !== JSON.stringify({ error, error_description: description })) failures.push(`${name}: ${JSON.stringify(got)}`)
    }
  }
  t.strictSame(failures, [], `${cases.length} cases`)
})
