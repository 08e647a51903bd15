// Throttling of failed client authentication, in fixed windows, per source address and per presented
// client_id (every method). Only FAILURES are counted, and only failures are answered with 429: a correct
// credential always authenticates, whatever its address or client_id has suffered, so a stranger failing
// on purpose cannot lock anyone out (behind NAT, a load balancer or with a guessed client_id). Secrets
// carry 256 bits and signatures cannot be guessed, so the throttle does not protect them from guessing;
// it slows floods of failures and keeps them out of the database and the logs.
//
// Memory is bounded by construction: every key is a 16-byte keyed hash (a presented client_id may be up
// to the 64 KiB form limit), the map holds at most `maxKeys` windows (the oldest is evicted), and expired
// windows are dropped as new ones arrive. Counters live in this process: a soft limit per instance,
// unlike revocations, which live in the database. The client_id key is the string presented, known or
// not, so a 429 says nothing about whether a client exists.
import { createHmac, randomBytes } from 'node:crypto'
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
  /** Windows kept at most (≈ 100 bytes each): the oldest is evicted past it. */
  maxKeys: number
}

const DEFAULT_THROTTLE: ThrottleOptions = { windowS: 60, maxFailuresPerAddress: 50, maxFailuresPerClient: 20, maxKeys: 50_000 }

interface Window { start: number, failures: number }

/** Expired windows dropped per new window, so sweeping stays O(1) amortised. */
const SWEEP_PER_INSERT = 4

export class AuthThrottle {
  // Insertion order is window-start order (a key is re-inserted when its window restarts), so the
  // first entries are always the oldest: eviction and expiry both take from the front.
  readonly #windows = new Map<string, Window>()
  // Per process: hashes cannot be precomputed to collide, and nothing durable depends on them.
  readonly #hashKey = randomBytes(32)
  constructor (private readonly options: ThrottleOptions = DEFAULT_THROTTLE, private readonly now = () => Date.now()) {}

  /** Windows held now (tests, metrics). */
  get size (): number { return this.#windows.size }

  #key (kind: 'a' | 'c', value: string): string {
    return createHmac('sha256', this.#hashKey).update(kind).update(value, 'utf8').digest().subarray(0, 16).toString('base64')
  }

  #expired (w: Window, now: number): boolean {
    return now - w.start >= this.options.windowS * 1000
  }

  #sweep (now: number): void {
    let dropped = 0
    for (const [key, w] of this.#windows) {
      if (dropped >= SWEEP_PER_INSERT || !this.#expired(w, now)) break
      this.#windows.delete(key)
      dropped++
    }
  }

  #count (key: string): Window {
    const now = this.now()
    let w = this.#windows.get(key)
    if (w === undefined || this.#expired(w, now)) {
      this.#windows.delete(key)
      this.#sweep(now)
      while (this.#windows.size >= this.options.maxKeys) {
        const oldest = this.#windows.keys().next().value
        if (oldest === undefined) break
        this.#windows.delete(oldest)
      }
      w = { start: now, failures: 0 }
      this.#windows.set(key, w)
    }
    w.failures++
    return w
  }

  #retryAfter (w: Window): number {
    return Math.max(1, Math.ceil((w.start + this.options.windowS * 1000 - this.now()) / 1000))
  }

  /**
   * After a failed authentication: counts it for the address and the presented client_id, and throws
   * TooManyRequests (429 + Retry-After) instead of the 401 once either is past its limit.
   */
  recordFailure (address: string | undefined, clientId: string | undefined): void {
    let over: Window | undefined
    if (address !== undefined) {
      const w = this.#count(this.#key('a', address))
      if (w.failures > this.options.maxFailuresPerAddress) over = w
    }
    if (clientId !== undefined) {
      const w = this.#count(this.#key('c', clientId))
      if (w.failures > this.options.maxFailuresPerClient && (over === undefined || this.#retryAfter(w) > this.#retryAfter(over))) over = w
    }
    if (over !== undefined) throw new TooManyRequests(this.#retryAfter(over))
  }
}
