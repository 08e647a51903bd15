// This instance's view of the shared signing keys: reloaded from the database on a timer and after a
// local rotation, so every instance signs with the same key and publishes the same JWKS.
import type { Db, Listen } from '../store/database.js'
import { currentSigningKey, KEYS_CHANNEL, loadSigningKeys, type PublicJwk, type SigningKey } from './keystore.js'

const RELOAD_INTERVAL_MS = 15_000

export class KeyRing {
  #keys: SigningKey[] = []
  #timer: NodeJS.Timeout | undefined
  #unlisten: (() => Promise<void>) | undefined

  constructor (private readonly db: Db, private readonly kek: Buffer, private readonly onError: (err: unknown) => void) {}

  /**
   * Loads the keys, then reloads on every rotation notice (so an emergency rotation stops this instance
   * signing with a removed key at once) and on a timer (in case a notice was missed while disconnected).
   */
  async start (listen?: Listen): Promise<void> {
    await this.reload()
    this.#timer = setInterval(() => { this.reload().catch(this.onError) }, RELOAD_INTERVAL_MS)
    this.#timer.unref()
    if (listen !== undefined) {
      try {
        this.#unlisten = await listen(KEYS_CHANNEL, () => { this.reload().catch(this.onError) })
      } catch (err) {
        this.onError(err)
      }
    }
  }

  async stop (): Promise<void> {
    clearInterval(this.#timer)
    await this.#unlisten?.()
  }

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
