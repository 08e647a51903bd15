// The narrowing changes of delegation (docs/reference/delegation.md): a delegation removed, its scopes reduced or its expiry
// brought forward narrows what its ACTOR may do, so the actor's epoch is bumped in the caller's
// change — every token exchanged under it (which records the actor's epoch) goes stale at the commit.
import type { Change } from './change.js'

export type DelegationNarrowing = 'delegation_narrowed' | 'delegation_removed'

/** Narrows the delegation's actor (its epoch goes up at the commit); returns the new epoch. */
export async function narrowActorOfDelegation (change: Change, actorId: string, reason: DelegationNarrowing): Promise<number> {
  return (await change.narrow([actorId], reason)).get(actorId) as number
}

/** A change narrows when a scope is dropped, or the expiry comes earlier (none → some counts as earlier). */
export function delegationNarrows (before: { scopes: string[], expiresAt: Date | null }, after: { scopes: string[], expiresAt: Date | null }): boolean {
  if (before.scopes.some((s) => !after.scopes.includes(s))) return true
  const was = before.expiresAt?.getTime() ?? Infinity
  const is = after.expiresAt?.getTime() ?? Infinity
  return is < was
}
