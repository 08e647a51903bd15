// The keys of trusted platforms (docs/reference/federation.md), held in memory ONLY as a cache — trusts themselves live in the
// database. One cache per process, shared by all its requests; a fetch in flight is shared too
// (single-flight), so a burst of assertions costs one request to the platform, not one each.
//
// Freshness follows the JWKS response's Cache-Control max-age / Expires, clamped to [minTtlS, maxTtlS].
// An unknown kid triggers a refetch (key rotation), at most once per `refetchCooldownS`; a failed fetch is
// not retried for that long either, so a dead platform is not hammered. Keys past their freshness are still
// used for `staleIfErrorS` while the platform cannot be reached; after that — or with no keys at all —
// the request gets 503 temporarily_unavailable.
import type { KeyObject } from 'node:crypto'
import type { JWK } from 'jose'
import { TemporarilyUnavailable } from '../errors.js'
import { discoverJwksUri } from './discovery.js'
import { AssertionRejected } from './errors.js'
import { fetchJson, type FetchedJson } from './safe-fetch.js'
import { jwkTypeFits, verificationKey } from './signature.js'

export interface KeySource { issuer: string, jwks_uri: string | null }

export interface JwksCacheOptions {
  minTtlS: number
  maxTtlS: number
  defaultTtlS: number
  refetchCooldownS: number
  staleIfErrorS: number
  fetchJson: (url: string) => Promise<FetchedJson>
  onFetchError?: (issuer: string, err: unknown) => void
}

const JWKS_CACHE_DEFAULTS: JwksCacheOptions = {
  minTtlS: 60, // 1 minute: a platform saying no-cache is still not fetched per request
  maxTtlS: 3600, // 1 hour: a removed platform key stops being accepted within this
  defaultTtlS: 300, // 5 minutes when the response says nothing
  refetchCooldownS: 5, // unknown kid or failure: at most one fetch per 5 seconds per trust
  staleIfErrorS: 3600, // 1 hour of serving known keys while the platform is unreachable
  fetchJson
}

interface Entry {
  keys: JWK[] | undefined
  freshUntil: number
  usableUntil: number
  lastAttempt: number
  /** The fetch in flight, shared by every request that needs it; resolves true when it brought keys. */
  inflight: Promise<boolean> | undefined
}

function fits (jwk: JWK, alg: string, kid: string | undefined): boolean {
  if (!jwkTypeFits(jwk, alg)) return false
  if (jwk.d !== undefined) return false // a private key published by mistake is never used
  if (jwk.use !== undefined && jwk.use !== 'sig') return false
  if (jwk.alg !== undefined && jwk.alg !== alg) return false
  return kid === undefined || jwk.kid === kid
}

export class JwksCache {
  readonly #entries = new Map<string, Entry>()
  readonly #imported = new WeakMap<JWK, Map<string, KeyObject | undefined | Error>>()
  readonly #options: JwksCacheOptions

  constructor (options: Partial<JwksCacheOptions> = {}) {
    this.#options = { ...JWKS_CACHE_DEFAULTS, ...options }
  }

  /**
   * The keys of `source` that may have signed a JWS with this header: by kid when it has one. Throws
   * AssertionRejected when the (fresh) JWKS has no such key, TemporarilyUnavailable when no keys can be had.
   */
  async keysFor (source: KeySource, alg: string, kid: string | undefined): Promise<KeyObject[]> {
    const entry = this.#entry(source)
    // Keys this very call (or the fetch it joined) brought in are usable whatever their lifetime.
    let fetched = false
    if (entry.keys === undefined || Date.now() >= entry.freshUntil) fetched = await this.#refresh(entry, source)
    const usable = (): JWK[] | undefined => entry.keys !== undefined && (fetched || Date.now() < entry.usableUntil) ? entry.keys : undefined
    let found = (usable() ?? []).filter((k) => fits(k, alg, kid))
    // A kid we have not seen: the platform may have rotated. Refetch, at most once per cooldown.
    if (found.length === 0 && usable() !== undefined && kid !== undefined) {
      fetched = await this.#refresh(entry, source) || fetched
      found = (usable() ?? []).filter((k) => fits(k, alg, kid))
    }
    if (usable() === undefined) throw new TemporarilyUnavailable({ cause: `keys of ${source.issuer} cannot be fetched` })
    if (found.length === 0) throw new AssertionRejected('no key of the trust jwks matches the assertion kid and alg')
    // A key that cannot verify the alg (an RSA modulus under 2048 bits, say) is skipped, as a failed
    // verification with it was before; none left is a rejection.
    const keys = found.map((jwk) => this.#import(jwk, alg)).filter((key): key is KeyObject => key !== undefined)
    if (keys.length === 0) throw new AssertionRejected('no key of the trust jwks can verify the assertion alg')
    return keys
  }

  /** Forgets every cached key set (tests; a process that wants to drop everything). */
  clear (): void { this.#entries.clear() }

  #entry (source: KeySource): Entry {
    // Keyed by issuer and configured URL: a trust whose jwks_uri changes starts from nothing.
    const key = `${source.issuer}\u0000${source.jwks_uri ?? ''}`
    let entry = this.#entries.get(key)
    if (entry === undefined) {
      entry = { keys: undefined, freshUntil: 0, usableUntil: 0, lastAttempt: -Infinity, inflight: undefined }
      this.#entries.set(key, entry)
    }
    return entry
  }

  async #refresh (entry: Entry, source: KeySource): Promise<boolean> {
    if (entry.inflight !== undefined) return await entry.inflight
    if (Date.now() - entry.lastAttempt < this.#options.refetchCooldownS * 1000) return false
    entry.lastAttempt = Date.now()
    entry.inflight = this.#fetch(source).then(({ keys, ttlS }) => {
      entry.keys = keys
      entry.freshUntil = Date.now() + ttlS * 1000
      entry.usableUntil = entry.freshUntil + this.#options.staleIfErrorS * 1000
      return true
    }, (err: unknown) => {
      this.#options.onFetchError?.(source.issuer, err)
      return false
    }).finally(() => { entry.inflight = undefined })
    return await entry.inflight
  }

  async #fetch (source: KeySource): Promise<{ keys: JWK[], ttlS: number }> {
    const uri = source.jwks_uri ?? await discoverJwksUri(source.issuer, this.#options.fetchJson)
    const { body, maxAgeS } = await this.#options.fetchJson(uri)
    const keys = (body as { keys?: unknown })?.keys
    if (!Array.isArray(keys)) throw new Error('JWKS has no keys array')
    const { minTtlS, maxTtlS, defaultTtlS } = this.#options
    const ttlS = Math.min(maxTtlS, Math.max(minTtlS, maxAgeS ?? defaultTtlS))
    return { keys: keys.filter((k): k is JWK => typeof k === 'object' && k !== null && typeof (k as JWK).kty === 'string'), ttlS }
  }

  /** The JWK as a KeyObject for `alg` (undefined when it cannot verify it), imported once per key set. */
  #import (jwk: JWK, alg: string): KeyObject | undefined {
    let byAlg = this.#imported.get(jwk)
    if (byAlg === undefined) {
      byAlg = new Map()
      this.#imported.set(jwk, byAlg)
    }
    let key = byAlg.get(alg)
    if (!byAlg.has(alg)) {
      try {
        key = verificationKey(jwk as Record<string, unknown>, alg)
      } catch (err) {
        key = err instanceof Error ? err : new Error(String(err))
      }
      byAlg.set(alg, key)
    }
    if (key instanceof Error) throw new AssertionRejected('a key of the trust jwks cannot be imported', { cause: key })
    return key
  }
}
