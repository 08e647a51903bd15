// The narrowing changes of delegation (SPEC §8): a delegation removed, its scopes reduced or its expiry
// brought forward narrows what its ACTOR may do, so the actor's epoch is bumped in the caller's
// transaction — every token exchanged under it (which records the actor's epoch) goes stale at the commit.
// TODO(domain): re-point at the central narrowing commit function once it lands; this is the one call site.
import type { Db } from '../store/database.js'
import { bumpEpoch } from '../store/epochs.js'

export type DelegationNarrowing = 'delegation_narrowed' | 'delegation_removed'

export async function bumpActorOfDelegation (trx: Db, actorId: string, reason: DelegationNarrowing): Promise<number> {
  return await bumpEpoch(trx, actorId, reason)
}

/** A change narrows when a scope is dropped, or the expiry comes earlier (none → some counts as earlier). */
export function delegationNarrows (before: { scopes: string[], expiresAt: Date | null }, after: { scopes: string[], expiresAt: Date | null }): boolean {
  if (before.scopes.some((s) => !after.scopes.includes(s))) return true
  const was = before.expiresAt?.getTime() ?? Infinity
  const is = after.expiresAt?.getTime() ?? Infinity
  return is < was
}
