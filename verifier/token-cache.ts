// Tokens whose signature and claims were verified once, by their exact string: a re-check is a map
// lookup plus the expiry, epoch and revocation tests — no second signature verification. Least recently
// used entries go first when the cache is full.
import type { AccessTokenClaims } from './claims.js'

export interface CachedToken { claims: AccessTokenClaims, scopes: Set<string> }

export class TokenCache {
  #entries = new Map<string, CachedToken>()

  constructor (private readonly maxEntries: number) {}

  get (token: string): CachedToken | undefined {
    const entry = this.#entries.get(token)
    if (entry !== undefined) {
      this.#entries.delete(token)
      this.#entries.set(token, entry)
    }
    return entry
  }

  set (token: string, entry: CachedToken): void {
    if (this.maxEntries <= 0) return
    this.#entries.delete(token)
    this.#entries.set(token, entry)
    if (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value as string)
  }

  delete (token: string): void { this.#entries.delete(token) }
  get size (): number { return this.#entries.size }
}
