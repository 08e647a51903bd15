// Signing-key rotation (docs/reference/endpoints.md JWKS, admin-api.md POST /admin/keys/rotate). A normal rotation publishes the new
// key at once and lets it sign only after a pre-publication delay, so every verifier's JWKS has it first;
// the old key keeps being published until every token it signed has expired. An emergency rotation signs
// with the new key at once and removes the old ones: their tokens stop being active everywhere, because
// introspection reads the key's state in the same query as the session, and the feed carries a key event
// that makes every verifier drop the key (docs/reference/epoch-feed.md).
import type { Db } from '../store/database.js'
import { appendKeyRemovedEvent } from '../store/epochs.js'
import { advanceSigningKeyStates, lockSigningKeys, notifySigningKeysChanged, removeSigningKeys, scheduleSigningKeyRetirement, selectLiveSigningKeys } from '../store/signing-keys.js'
import { createSigningKey } from './keystore.js'

interface RotationOptions {
  emergency: boolean
  /** Seconds between publication and first signature (normal rotation). */
  prePublicationS: number
  /** The longest a token can live: a retired key stays published this long after its last signature. */
  tokenTtlMaxS: number
  /** Scheduled rotation: do nothing if the newest key activated less than this many seconds ago. */
  ifNewestOlderThanS?: number
}

export interface RotationResult {
  kid: string
  activates_at: string
  retired: string[]
  removed: string[]
}

const CLOCK_SKEW_S = 60

export async function rotateSigningKey (db: Db, kek: Buffer, options: RotationOptions): Promise<RotationResult | undefined> {
  return await db.transaction().execute(async (trx) => {
    await lockSigningKeys(trx)
    const now = Date.now()
    const live = await selectLiveSigningKeys(trx)
    // Checked under the lock, so instances running the schedule together rotate once.
    if (options.ifNewestOlderThanS !== undefined && live.some((k) => k.activates_at.getTime() > now - options.ifNewestOlderThanS! * 1000)) return undefined
    let result: RotationResult
    if (options.emergency) {
      const kid = await createSigningKey(trx, kek, 'active', new Date(now))
      const removed = live.map((k) => k.kid)
      if (removed.length > 0) {
        await removeSigningKeys(trx, removed, new Date(now))
        // docs/reference/epoch-feed.md: verifiers learn of the removal from the feed, in commit order with the other events.
        for (const removedKid of removed) await appendKeyRemovedEvent(trx, removedKid)
      }
      result = { kid, activates_at: new Date(now).toISOString(), retired: [], removed }
    } else {
      const activatesAt = new Date(now + options.prePublicationS * 1000)
      const kid = await createSigningKey(trx, kek, 'next', activatesAt)
      const retired = live.map((k) => k.kid)
      if (retired.length > 0) {
        await scheduleSigningKeyRetirement(trx, retired, activatesAt, new Date(activatesAt.getTime() + (options.tokenTtlMaxS + CLOCK_SKEW_S) * 1000))
      }
      result = { kid, activates_at: activatesAt.toISOString(), retired, removed: [] }
    }
    await notifySigningKeysChanged(trx, result.kid)
    return result
  })
}

/**
 * Moves keys along by the clock (next → active when due, active → retired once superseded) and, when the
 * newest key is older than `intervalS`, starts a normal rotation. Idempotent; any instance may run it.
 */
export async function maintainSigningKeys (db: Db, kek: Buffer, options: Omit<RotationOptions, 'emergency'> & { intervalS: number }): Promise<RotationResult | undefined> {
  await advanceSigningKeyStates(db)
  return await rotateSigningKey(db, kek, { ...options, emergency: false, ifNewestOlderThanS: options.intervalS })
}
