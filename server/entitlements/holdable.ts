// What an identity may hold (docs/reference/concepts.md "entitlement"): a subset of one resource's scopes, optional flat
// conditions, an optional expiry in the future. Pure: the caller passes the resource row it has locked
// FOR SHARE, so the check and the insert see the same scopes (issue 9 finding 5).
import { InvalidRequest } from '../errors.js'
import type { ResourceRow } from '../store/database.js'

/** An entitlement as the admin API receives it (docs/reference/admin-api.md). */
export interface EntitlementInput { resource: string, scopes: string[], conditions?: Record<string, unknown>, expires_at?: string, reason?: string }

export interface HoldableEntitlement {
  resource: ResourceRow
  scopes: string[]
  conditions: Record<string, unknown> | null
  expiresAt: Date | null
  reason: string | null
}

/**
 * Checks `input` against its resource; `field` prefixes error messages (e.g. "body/0/"). `resource` is
 * undefined when no resource has the identifier. Throws InvalidRequest naming the field.
 */
export function checkHoldable (input: EntitlementInput, resource: ResourceRow | undefined, field: string, nowMs = Date.now()): HoldableEntitlement {
  if (resource === undefined) throw new InvalidRequest(`${field}resource: unknown resource ${input.resource}`)
  const unknown = input.scopes.find((s) => !resource.scopes.includes(s))
  if (unknown !== undefined) throw new InvalidRequest(`${field}scopes: ${unknown} is not a scope of ${resource.identifier}`)
  let expiresAt: Date | null = null
  if (input.expires_at !== undefined) {
    expiresAt = new Date(input.expires_at)
    if (expiresAt.getTime() <= nowMs) throw new InvalidRequest(`${field}expires_at must be in the future`)
  }
  const conditions = input.conditions !== undefined && Object.keys(input.conditions).length > 0 ? input.conditions : null
  return { resource, scopes: input.scopes, conditions, expiresAt, reason: input.reason ?? null }
}
