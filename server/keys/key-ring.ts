// This instance's view of the shared signing keys: reloaded from the database on a timer and after a
// local rotation, so every instance signs with the same key and publishes the same JWKS.
import type { Db } from '../store/database.js'
import { currentSigningKey, loadSigningKeys, type PublicJwk, type SigningKey } from './keystore.js'

const RELOAD_INTERVAL_MS = 15_000

export class KeyRing {
  #keys: SigningKey[] = []
  #timer: NodeJS.Timeout | undefined

  constructor (private readonly db: Db, private readonly kek: Buffer, private readonly onError: (err: unknown) => void) {}

  async start (): Promise<void> {
    await this.reload()
    this.#timer = setInterval(() => { this.reload().catch(this.onError) }, RELOAD_INTERVAL_MS)
    this.#timer.unref()
  }

  stop (): void { clearInterval(this.#timer) }

  async reload (): Promise<void> {
    this.#keys = await loadSigningKeys(this.db, this.kek)
  }

  /** The key that signs now; throws if there is none (a start-up invariant). */
  signingKey (): SigningKey {
    const key = currentSigningKey(this.#keys)
    if (key === undefined) throw new Error('no signing key is active')
    return key
  }

  /** RFC 7517 key set: public members only, for every key that is active, next or retired but unexpired. */
  publicJwks (): { keys: PublicJwk[] } {
    return { keys: this.#keys.map((k) => k.publicJwk) }
  }

  get loaded (): boolean { return this.#keys.length > 0 }
}
