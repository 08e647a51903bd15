// What narrows access (docs/reference/concepts.md "epoch"): a change narrows when some (resource, scope, conditions) access
// granted before it is not granted after it, or only until an earlier expires_at. Additions never narrow.
// Pure: the caller reads the before and after sets; `commitChange` (change.ts) bumps when this says so.

/** One entitlement as far as narrowing is concerned: what it lets the identity reach, and until when. */
export interface Holding {
  resourceId: string
  scopes: string[]
  conditions: Record<string, unknown> | null
  /** Milliseconds since the Unix epoch; null for no expiry. */
  expiresAtMs: number | null
}

/** A canonical form of a flat conditions object, so that key order does not matter. */
function conditionsKey (conditions: Record<string, unknown> | null): string {
  if (conditions === null) return '{}'
  return JSON.stringify(Object.keys(conditions).sort().map((k) => [k, conditions[k]]))
}

const expiry = (atMs: number | null): number => atMs ?? Infinity
const accessKey = (h: Holding, scope: string): string => `${h.resourceId}\u0000${scope}\u0000${conditionsKey(h.conditions)}`

/** True when `after` no longer grants something `before` granted (now or later), or grants it for less time. */
export function narrows (before: Holding[], after: Holding[], nowMs = Date.now()): boolean {
  const kept = new Map<string, number>()
  for (const h of after) {
    for (const scope of h.scopes) kept.set(accessKey(h, scope), Math.max(kept.get(accessKey(h, scope)) ?? -Infinity, expiry(h.expiresAtMs)))
  }
  for (const h of before) {
    if (expiry(h.expiresAtMs) <= nowMs) continue // already expired: granted nothing
    for (const scope of h.scopes) if ((kept.get(accessKey(h, scope)) ?? -Infinity) < expiry(h.expiresAtMs)) return true
  }
  return false
}
