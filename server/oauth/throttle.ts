// Brute-force throttling of client authentication. Counted are FAILURES only, in fixed windows:
// - per source address: past the limit, that address gets 429 before any secret is checked;
// - per presented client_id (shared secrets only): past the limit, further FAILED attempts get 429, while a
//   correct secret still succeeds — so an attacker guessing from elsewhere cannot lock a client out.
// The client_id key is the string presented, known or not, so a 429 says nothing about whether a client
// exists. Counters live in this process: they are a soft limit that need not be consistent across
// instances (each instance limits on its own), unlike revocations, which live in the database.
import { OAuthError } from '../errors.js'

export class TooManyRequests extends OAuthError {
  constructor (readonly retryAfterS: number) {
    super('invalid_request', 'too many failed authentication attempts; retry later', 429)
  }
}

export interface ThrottleOptions {
  windowS: number
  maxFailuresPerAddress: number
  maxFailuresPerClient: number
  /** Bound on tracked keys, so a flood of distinct client_ids cannot grow memory without limit. */
  maxKeys: number
}

export const DEFAULT_THROTTLE: ThrottleOptions = { windowS: 60, maxFailuresPerAddress: 50, maxFailuresPerClient: 20, maxKeys: 100_000 }

interface Window { start: number, failures: number }

export class AuthThrottle {
  readonly #windows = new Map<string, Window>()
  constructor (private readonly options: ThrottleOptions = DEFAULT_THROTTLE, private readonly now = () => Date.now()) {}

  #window (key: string): Window {
    const now = this.now()
    let w = this.#windows.get(key)
    if (w === undefined || now - w.start >= this.options.windowS * 1000) {
      if (w === undefined && this.#windows.size >= this.options.maxKeys) {
        const oldest = this.#windows.keys().next().value
        if (oldest !== undefined) this.#windows.delete(oldest)
      }
      w = { start: now, failures: 0 }
      this.#windows.delete(key)
      this.#windows.set(key, w)
    }
    return w
  }

  #retryAfter (w: Window): number {
    return Math.max(1, Math.ceil((w.start + this.options.windowS * 1000 - this.now()) / 1000))
  }

  /** Before authentication: refuses an address that has failed too often. */
  checkAddress (address: string | undefined): void {
    if (address === undefined) return
    const w = this.#windows.get(`a:${address}`)
    if (w !== undefined && this.now() - w.start < this.options.windowS * 1000 && w.failures >= this.options.maxFailuresPerAddress) {
      throw new TooManyRequests(this.#retryAfter(w))
    }
  }

  /** After a failed authentication: counts it, and answers 429 instead of 401 past the client's limit. */
  recordFailure (address: string | undefined, clientId: string | undefined): void {
    if (address !== undefined) this.#window(`a:${address}`).failures++
    if (clientId === undefined) return
    const w = this.#window(`c:${clientId}`)
    w.failures++
    if (w.failures > this.options.maxFailuresPerClient) throw new TooManyRequests(this.#retryAfter(w))
  }
}
