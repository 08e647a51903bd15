// What narrows access (SPEC §1 "epoch"): a change narrows when some (resource, scope, conditions) access
// granted before it is not granted after it, or only until an earlier expires_at. Additions never narrow.

export interface Grant {
  resourceId: string
  scopes: string[]
  conditions: Record<string, unknown> | null
  /** Milliseconds since the epoch; null for no expiry. */
  expiresAt: number | null
}

/** A canonical form of a flat conditions object, so that key order does not matter. */
export function conditionsKey (conditions: Record<string, unknown> | null): string {
  if (conditions === null) return '{}'
  return JSON.stringify(Object.keys(conditions).sort().map((k) => [k, conditions[k]]))
}

const expiry = (at: number | null): number => at ?? Infinity

/** True when `after` no longer grants something `before` granted (now or later), or grants it for less time. */
export function narrows (before: Grant[], after: Grant[], now = Date.now()): boolean {
  const kept = new Map<string, number>()
  for (const g of after) {
    for (const scope of g.scopes) {
      const key = `${g.resourceId}\u0000${scope}\u0000${conditionsKey(g.conditions)}`
      kept.set(key, Math.max(kept.get(key) ?? -Infinity, expiry(g.expiresAt)))
    }
  }
  for (const g of before) {
    if (expiry(g.expiresAt) <= now) continue // already expired: granted nothing
    for (const scope of g.scopes) {
      const key = `${g.resourceId}\u0000${scope}\u0000${conditionsKey(g.conditions)}`
      if ((kept.get(key) ?? -Infinity) < expiry(g.expiresAt)) return true
    }
  }
  return false
}
