// Tokens whose signature and claims were verified once, by their exact string: a re-check is a map
// lookup plus the expiry, epoch and revocation tests — no second signature verification.
//
// Bounded in two generations rather than as a strict LRU: V8's Map degrades badly under the
// delete-then-set an LRU does on every hit (at 10 000 entries a hit cost ~25 µs, from rehashing and
// from skipping deleted slots). Here a hit in the young map changes nothing; a hit in the old one copies
// the entry into the young one; when the young map holds half the capacity it becomes the old one and
// the previous old one is dropped whole. So at most `maxEntries` tokens are held, a token used within
// the last `maxEntries / 2` insertions always stays, and an expired entry is dropped when it is next
// looked up (verify answers `expired` and deletes it) or with its generation.
//
// Admission (`offer`): a token is kept from its SECOND verification on, as a TinyLFU "doorkeeper" does.
// Keeping every token on first sight made a stream of one-off tokens (a CI job's, an agent's single call)
// cost the verifier the GC of thousands of retained claims objects — the whole gap between it and a bare
// crypto.verify (docs/performance.md); a token used many times pays one extra signature check in its life.
// The doorkeeper remembers a 30-bit fingerprint of the signature, not the token: a collision only admits a
// token early, and what is admitted is still the exact string that was verified.
import type { AccessTokenClaims } from './claims.js'

/** A verified token: its claims, its scopes as a set, and the `kid` of the key that signed it. */
export interface CachedToken { claims: AccessTokenClaims, scopes: Set<string>, kid: string }

export class TokenCache {
  #young = new Map<string, CachedToken>()
  #old = new Map<string, CachedToken>()
  /** Fingerprints of tokens verified once and not kept (yet). */
  #seen = new Set<number>()
  readonly #half: number

  constructor (private readonly maxEntries: number) {
    this.#half = Math.max(1, Math.floor(maxEntries / 2))
  }

  /** Keeps a verified token if it was verified before (recently); otherwise only remembers that it was. */
  offer (token: string, entry: CachedToken): void {
    if (this.maxEntries <= 0) return
    const print = fingerprint(token)
    if (this.#seen.has(print)) {
      this.#seen.delete(print)
      this.#add(token, entry)
      return
    }
    if (this.#seen.size >= this.maxEntries) this.#seen.clear()
    this.#seen.add(print)
  }

  get (token: string): CachedToken | undefined {
    const entry = this.#young.get(token)
    if (entry !== undefined) return entry
    const old = this.#old.get(token)
    if (old !== undefined) this.#add(token, old)
    return old
  }

  /** Keeps the token now, whether seen before or not. */
  set (token: string, entry: CachedToken): void {
    if (this.maxEntries <= 0) return
    this.#add(token, entry)
  }

  delete (token: string): void {
    this.#young.delete(token)
    this.#old.delete(token)
  }

  /** Drops every token verified with this key (an emergency removal): O(n), and rare. */
  deleteSignedBy (kid: string): void {
    for (const generation of [this.#young, this.#old]) {
      for (const [token, entry] of generation) if (entry.kid === kid) generation.delete(token)
    }
  }

  /** Tokens held (an entry promoted from the old generation counts once). */
  get size (): number {
    let size = this.#young.size
    for (const token of this.#old.keys()) if (!this.#young.has(token)) size++
    return size
  }

  #add (token: string, entry: CachedToken): void {
    this.#young.set(token, entry)
    if (this.#young.size >= this.#half) {
      this.#old = this.#young
      this.#young = new Map()
    }
  }
}

/**
 * 30 bits (a small integer, stored without allocation) of FNV-1a over the last characters of the
 * signature segment, which for a real signature are random.
 */
function fingerprint (token: string): number {
  let h = 0x811c9dc5
  for (let i = Math.max(0, token.length - 8); i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), 0x01000193)
  return h & 0x3fffffff
}
