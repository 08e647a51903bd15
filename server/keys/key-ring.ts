// This instance's view of the shared signing keys: reloaded from the database on a timer and after a
// local rotation, so every instance signs with the same key and publishes the same JWKS.
import type { Db, Store } from '../store/database.js'
import { startListener, type FeedListener } from '../store/listener.js'
import { KEYS_CHANNEL } from '../store/signing-keys.js'
import { currentSigningKey, loadSigningKeys, type PublicJwk, type SigningKey } from './keystore.js'

const RELOAD_INTERVAL_MS = 15_000

export class KeyRing {
  #keys: SigningKey[] = []
  #timer: NodeJS.Timeout | undefined
  #listener: FeedListener | undefined

  constructor (private readonly db: Db, private readonly kek: Buffer, private readonly onError: (err: unknown) => void) {}

  /**
   * Loads the keys, then reloads on every rotation notice (so an emergency rotation stops this instance
   * signing with a removed key at once), after every reconnection of the listener (a notice may have been
   * missed while it was down) and on a timer.
   */
  async start (store?: Store): Promise<void> {
    await this.reload()
    this.#timer = setInterval(() => { this.reload().catch(this.onError) }, RELOAD_INTERVAL_MS)
    this.#timer.unref()
    if (store === undefined) return
    const reload = (): void => { this.reload().catch(this.onError) }
    this.#listener = await startListener(store, KEYS_CHANNEL, { onNotify: reload, onConnected: reload, onDisconnected: this.onError })
  }

  async stop (): Promise<void> {
    clearInterval(this.#timer)
    await this.#listener?.close()
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
