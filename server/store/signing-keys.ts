// Signing keys (server/keys/keystore.ts, rotation.ts): every instance shares them through this table; the
// private part is stored only as ciphertext. Changes to the set of live keys take the key advisory lock
// first, so instances that rotate or create the first key at once do so one at a time. Contracts as in identities.ts.
import { sql, type Selectable } from './kysely.js'
import type { Db, SigningKeyTable } from './database.js'
import { scopedChannel } from './listener.js'

const KEY_LOCK = 0x7a11_0002
export const KEYS_CHANNEL = 'tally_keys'

type SigningKeyRow = Selectable<SigningKeyTable>

interface NewSigningKey { kid: string, publicJwk: object, sealedPrivateKey: Uint8Array, state: 'next' | 'active', activatesAt: Date }

/** Takes the key advisory lock, held until the caller's transaction ends. Reads nothing. */
export async function lockSigningKeys (trx: Db): Promise<void> {
  await sql`select pg_advisory_xact_lock(${KEY_LOCK})`.execute(trx)
}

/** Inserts one ES256 key (the caller holds the key lock when it changes the live set). Throws 23505 on a kid already stored. */
export async function insertSigningKey (db: Db, key: NewSigningKey): Promise<void> {
  await db.insertInto('signing_keys').values({
    kid: key.kid, alg: 'ES256', public_jwk: JSON.stringify(key.publicJwk), private_key: key.sealedPrivateKey, state: key.state, activates_at: key.activatesAt
  }).execute()
}

/** Whether any key is active or next. Reads one row, locks nothing (under the key lock: no one else adds one meanwhile). */
export async function hasLiveSigningKey (trx: Db): Promise<boolean> {
  return await trx.selectFrom('signing_keys').select('kid').where('state', 'in', ['active', 'next']).executeTakeFirst() !== undefined
}

/** The keys that are neither removed nor expired, private part sealed. Reads, locks nothing: a committed state as of this statement. */
export async function selectPublishedSigningKeys (db: Db): Promise<Array<Pick<SigningKeyRow, 'kid' | 'alg' | 'public_jwk' | 'private_key' | 'state' | 'activates_at' | 'expires_at'>>> {
  return await db.selectFrom('signing_keys')
    .select(['kid', 'alg', 'public_jwk', 'private_key', 'state', 'activates_at', 'expires_at'])
    .where('state', '<>', 'removed')
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .execute()
}

/** The next and active keys. Reads, locks nothing (under the key lock: the live set cannot change until the caller commits). */
export async function selectLiveSigningKeys (trx: Db): Promise<Array<Pick<SigningKeyRow, 'kid' | 'state' | 'activates_at'>>> {
  return await trx.selectFrom('signing_keys').select(['kid', 'state', 'activates_at'])
    .where('state', 'in', ['next', 'active']).execute()
}

/** Marks these keys removed as of `at` (emergency rotation; the caller holds the key lock). Row locks until it commits. */
export async function removeSigningKeys (trx: Db, kids: string[], at: Date): Promise<void> {
  await trx.updateTable('signing_keys').set({ state: 'removed', retired_at: at, expires_at: at })
    .where('kid', 'in', kids).execute()
}

/** Sets when these keys stop signing and stop being published (normal rotation; the caller holds the key lock). Row locks until it commits. */
export async function scheduleSigningKeyRetirement (trx: Db, kids: string[], retiredAt: Date, expiresAt: Date): Promise<void> {
  await trx.updateTable('signing_keys').set({ retired_at: retiredAt, expires_at: expiresAt })
    .where('kid', 'in', kids).execute()
}

/** Notifies every instance's key ring of a change (`kid`). Transactional: heard only once the caller commits. */
export async function notifySigningKeysChanged (trx: Db, kid: string): Promise<void> {
  await sql`select pg_notify(${scopedChannel(KEYS_CHANNEL)}, ${kid})`.execute(trx)
}

/**
 * Moves keys along by the database clock: next → active once due, then active → retired once past retired_at.
 * Two statements, each atomic on its own (no key lock: both are idempotent). Row locks while each runs.
 */
export async function advanceSigningKeyStates (db: Db): Promise<void> {
  await db.updateTable('signing_keys').set({ state: 'active' }).where('state', '=', 'next').where('activates_at', '<=', sql<Date>`now()`).execute()
  await db.updateTable('signing_keys').set({ state: 'retired' }).where('state', '=', 'active').where('retired_at', '<=', sql<Date>`now()`).execute()
}
