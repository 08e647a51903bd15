// The verifier's copy of the feed's state (docs/reference/epoch-feed.md): the current epoch of every identity above 1, the
// revoked token ids not yet expired, the signing keys removed in an emergency, the cursor they are current
// at, and since when they are known fresh.

/** An event of the epoch feed, as the server sends it. */
export type FeedEvent =
  | { type: 'epoch', sub: string, epoch: number, reason: string | null, at: string }
  | { type: 'revoked', jti: string, sub: string, exp: number, at: string }
  /** A signing key removed in an emergency: nothing it signed may be accepted any more. */
  | { type: 'key', kid: string, state: 'removed', at: string }

/** The body of `GET /epochs`. */
export interface FeedSnapshot {
  cursor: string
  epochs: Record<string, number>
  revoked: Array<{ jti: string, sub: string, exp: number }>
  /** Keys removed in an emergency whose tokens may not have expired yet (absent from older servers). */
  removed_keys?: string[]
  max_staleness_s: number
}

// Expired revocations are dropped at most this often (they can no longer matter: the token is expired).
const PRUNE_INTERVAL_MS = 60_000

export class EpochView {
  cursor: string | undefined
  /** Date.now() at which the view was last known to match the server (0: never). */
  freshAt = 0
  #epochs = new Map<string, number>()
  #revoked = new Map<string, number>()
  // Never forgotten while the verifier runs: a key once removed is compromised for good. Bounded by
  // what the server lists (emergency rotations are rare), not by anything a token can name.
  #removedKeys = new Set<string>()
  #prunedAt = Date.now()

  /** Called with the kid of each key newly known to be removed, so caches can drop what it verified. */
  onKeyRemoved: (kid: string) => void = () => {}

  /** Replaces the whole view with a snapshot requested at `requestedAt`. */
  load (snapshot: FeedSnapshot, requestedAt: number): void {
    this.#epochs = new Map(Object.entries(snapshot.epochs))
    this.#revoked = new Map(snapshot.revoked.map((r) => [r.jti, r.exp]))
    for (const kid of snapshot.removed_keys ?? []) this.#removeKey(kid)
    this.cursor = snapshot.cursor
    this.freshAt = requestedAt
  }

  apply (event: FeedEvent, cursor: string | undefined): void {
    if (event.type === 'epoch') {
      // Epochs only go up; an out-of-date event can never lower one.
      if (event.epoch > (this.#epochs.get(event.sub) ?? 1)) this.#epochs.set(event.sub, event.epoch)
    } else if (event.type === 'revoked') {
      this.#revoked.set(event.jti, event.exp)
    } else if (event.type === 'key' && event.state === 'removed') {
      this.#removeKey(event.kid)
    }
    if (cursor !== undefined) this.cursor = cursor
  }

  /** The view is known to be current as of `at` (an event or a heartbeat arrived). */
  touch (at: number): void {
    if (at > this.freshAt) this.freshAt = at
    if (at - this.#prunedAt > PRUNE_INTERVAL_MS) this.#prune(at)
  }

  isFresh (maxStalenessMs: number, now = Date.now()): boolean {
    return now - this.freshAt <= maxStalenessMs
  }

  epochOf (sub: string): number { return this.#epochs.get(sub) ?? 1 }
  isRevoked (jti: string): boolean { return this.#revoked.has(jti) }
  isKeyRemoved (kid: string): boolean { return this.#removedKeys.has(kid) }

  #removeKey (kid: string): void {
    if (typeof kid !== 'string' || this.#removedKeys.has(kid)) return
    this.#removedKeys.add(kid)
    this.onKeyRemoved(kid)
  }

  #prune (now: number): void {
    this.#prunedAt = now
    const nowS = Math.floor(now / 1000)
    for (const [jti, exp] of this.#revoked) if (exp < nowS) this.#revoked.delete(jti)
  }
}
