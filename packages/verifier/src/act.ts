// Delegated tokens (RFC 8693 §4.1, docs/reference/delegation.md): `act` names the acting party, with earlier actors nested
// inside, and Tally puts each actor's epoch in it. A delegated token is live only while EVERY party is:
// the subject (`sub`/`epoch`, checked like any token) and each actor against the same feed view.

/** One acting party of a delegated token. */
export interface ActorClaim {
  sub: string
  client_id: string
  /** The actor's epoch when the token was minted. */
  epoch: number
  act?: ActorClaim
}

const MAX_DEPTH = 4

/** Absent, or a chain of at most four well-formed actors. */
export function isWellFormedAct (value: unknown, depth = 0): boolean {
  if (value === undefined) return true
  if (depth >= MAX_DEPTH || typeof value !== 'object' || value === null) return false
  const a = value as Record<string, unknown>
  return typeof a.sub === 'string' && typeof a.client_id === 'string' && Number.isSafeInteger(a.epoch) && (a.epoch as number) >= 1 &&
    isWellFormedAct(a.act, depth + 1)
}

/** True when some actor's epoch in the chain is below the identity's current epoch. */
export function hasStaleActor (act: ActorClaim | undefined, epochOf: (sub: string) => number): boolean {
  for (let a = act; a !== undefined; a = a.act) if (a.epoch < epochOf(a.sub)) return true
  return false
}
