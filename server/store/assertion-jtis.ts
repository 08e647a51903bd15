// Client-assertion jtis already used (RFC 7523 §3, private_key_jwt): the primary key (identity_id, jti) of
// used_assertions makes the first insert win and every replay fail, atomically, across every instance.
// Contracts as in identities.ts.
import { sql } from './kysely.js'
import type { Db } from './database.js'

/**
 * Records the jti as used until `keepUntilS` (epoch seconds). One statement; takes the row's unique-index
 * lock only while it inserts. True for the first use; false when the jti was already recorded (a replay),
 * decided atomically by the primary key whatever other instances do at the same moment.
 */
export async function claimAssertionJti (db: Db, identityId: string, jti: string, keepUntilS: number): Promise<boolean> {
  const { rows } = await sql`
      insert into used_assertions (identity_id, jti, exp) values (${identityId}, ${jti}, to_timestamp(${keepUntilS}))
      on conflict do nothing returning jti`.execute(db)
  return rows.length > 0
}

/**
 * Deletes at most `limit` jtis past their exp. Locks the rows it deletes, skipping rows another purge holds
 * (`skip locked`), so concurrent purges never wait on each other. Returns how many it deleted.
 */
export async function purgeExpiredAssertionJtis (db: Db, limit: number): Promise<number> {
  return Number((await sql`
    delete from used_assertions where (identity_id, jti) in (
      select identity_id, jti from used_assertions where exp < now() limit ${limit} for update skip locked)`.execute(db)).numAffectedRows ?? 0)
}
