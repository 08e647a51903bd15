// What an identity may hold (docs/reference/concepts.md "entitlement"), as a table.
import t from '../support/tap.js'
import { checkHoldable, type EntitlementInput } from '../../server/entitlements/holdable.js'
import type { ResourceRow } from '../../server/store/database.js'

const NOW = Date.parse('2026-12-01T00:00:00Z')
const resource = { id: 'r1', identifier: 'https://api.example', scopes: ['read', 'write'] } as unknown as ResourceRow

t.test('refusals name the field', async (t) => {
  const cases: Array<[string, EntitlementInput, ResourceRow | undefined, string]> = [
    ['unknown resource', { resource: 'urn:x', scopes: ['read'] }, undefined, 'body/0/resource: unknown resource urn:x'],
    ['a scope the resource does not define', { resource: 'https://api.example', scopes: ['read', 'admin'] }, resource, 'body/0/scopes: admin is not a scope of https://api.example'],
    ['expiry in the past', { resource: 'https://api.example', scopes: ['read'], expires_at: '2025-01-01T00:00:00Z' }, resource, 'body/0/expires_at must be in the future'],
    ['expiry now', { resource: 'https://api.example', scopes: ['read'], expires_at: '2026-12-01T00:00:00Z' }, resource, 'body/0/expires_at must be in the future']
  ]
  const failures: string[] = []
  for (const [name, input, row, message] of cases) {
    try {
      checkHoldable(input, row, 'body/0/', NOW)
      failures.push(`${name}: accepted`)
    } catch (err) {
      const body = (err as { toJSON: () => unknown }).toJSON()
      if (JSON.stringify(body) !== JSON.stringify({ error: 'invalid_request', error_description: message })) failures.push(`${name}: ${JSON.stringify(body)}`)
    }
  }
  t.strictSame(failures, [], `${cases.length} cases`)
})

t.test('an accepted entitlement: empty conditions are none, the expiry a Date', async (t) => {
  const got = checkHoldable({ resource: 'https://api.example', scopes: ['write'], conditions: {}, expires_at: '2027-01-01T00:00:00Z', reason: 'ci' }, resource, '', NOW)
  t.strictSame({ ...got, resource: got.resource.id }, { resource: 'r1', scopes: ['write'], conditions: null, expiresAt: new Date('2027-01-01T00:00:00Z'), reason: 'ci' })
})
