// The `act` claim (RFC 8693 §4.1): the acting party, with the party that acted before it nested inside.
// Tally adds each actor's epoch, so every party of a chain can be checked against the epoch feed.

export interface ActClaim {
  sub: string
  client_id: string
  epoch: number
  act?: ActClaim
}

/** Longest chain Tally mints (docs/reference/delegation.md): four actors. Deeper nesting is refused, not truncated. */
export const MAX_CHAIN_DEPTH = 4

/** The actors of a chain, outermost (the current actor) first. */
export function actorsOf (act: ActClaim | undefined): ActClaim[] {
  const actors: ActClaim[] = []
  for (let a = act; a !== undefined; a = a.act) actors.push(a)
  return actors
}
