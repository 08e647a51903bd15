// Verification keys by `kid`, for node:crypto. jose stays in charge of the JWKS: it fetches and caches
// the set (refetching it after 10 minutes), refetches on an unknown `kid` at most every 30 s, and decides
// which JWK may verify which `alg` (kty, crv, `use`, `key_ops`, the JWK's own `alg`). What it returns is
// kept here as a KeyObject per (alg, kid) for KEY_TTL_MS, then asked of jose again, so a key dropped
// from the JWKS stops verifying within jose's refresh plus KEY_TTL_MS.
import { KeyObject } from 'node:crypto'
import { errors, type createRemoteJWKSet } from 'jose'

const KEY_TTL_MS = 60_000
// Different (alg, kid) pairs remembered; a flood of made-up kids must not grow this without bound.
const MAX_KEYS = 64
const EAGER_REFRESH_MS = 30_000
const EAGER_INTERVAL_MS = 1000

interface CachedKey { key: KeyObject, at: number }

export class KeyResolver {
  #keys = new Map<string, CachedKey>()
  #eagerUntil = 0
  #eagerAt = 0

  constructor (private readonly jwks: ReturnType<typeof createRemoteJWKSet>) {}

  /**
   * Forgets every cached key with this kid (it was removed in an emergency) and has jose refetch the
   * JWKS now, cooldown or not: the key that replaces it signs at once, and must verify at once too.
   */
  drop (kid: string, onError: (err: unknown) => void): void {
    for (const name of this.#keys.keys()) if (name.endsWith(' ' + kid)) this.#keys.delete(name)
    // The feed event can arrive before an instance's JWKS shows the new key: keep refreshing on an
    // unknown kid, past jose's 30 s cooldown, for a while after a removal (at most once a second).
    this.#eagerUntil = Date.now() + EAGER_REFRESH_MS
    this.jwks.reload().catch(onError)
  }

  /** The cached key, or undefined when jose must be asked (`resolve`). */
  cached (alg: string, kid: string, now: number): KeyObject | undefined {
    const entry = this.#keys.get(alg + ' ' + kid)
    return entry !== undefined && now - entry.at < KEY_TTL_MS ? entry.key : undefined
  }

  /** Asks jose for the key (it may fetch the JWKS); throws jose's errors (JWKSNoMatchingKey for a key of the wrong type too). */
  async resolve (alg: string, kid: string): Promise<KeyObject> {
    let found: Awaited<ReturnType<typeof this.jwks>>
    try {
      found = await this.jwks({ alg, kid })
    } catch (err) {
      const now = Date.now()
      if (!(err instanceof errors.JWKSNoMatchingKey) || now > this.#eagerUntil || now - this.#eagerAt < EAGER_INTERVAL_MS) throw err
      this.#eagerAt = now
      await this.jwks.reload()
      found = await this.jwks({ alg, kid })
    }
    const key = found instanceof KeyObject ? found : KeyObject.from(found as CryptoKey)
    if (!keyFitsAlg(key, alg)) throw new errors.JWKSNoMatchingKey(`the JWK ${kid} cannot verify ${alg}`)
    if (this.#keys.size >= MAX_KEYS) this.#keys.clear()
    this.#keys.set(alg + ' ' + kid, { key, at: Date.now() })
    return key
  }
}

/** RFC 7518 §3.4: ES256 is ECDSA on P-256; RFC 8037 §3.1: EdDSA (and the fully specified Ed25519) on Ed25519. */
function keyFitsAlg (key: KeyObject, alg: string): boolean {
  if (key.type !== 'public') return false
  if (alg === 'ES256') return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
  return (alg === 'EdDSA' || alg === 'Ed25519') && key.asymmetricKeyType === 'ed25519'
}
