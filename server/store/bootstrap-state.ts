// The durable bootstrap marker (migration 2026_12_01_10_00_00): one row once the database has been
// bootstrapped, written in the same transaction as the bootstrap admin.
import { sql } from 'kysely'
import type { Db } from './database.js'


/** Serialises concurrent first starts (two instances on one new database) inside their transactions. */
export async function lockBootstrap (trx: Db): Promise<void> {
  await sql`select pg_advisory_xact_lock(${0x7a11_0004})`.execute(trx)
}

export async function wasBootstrapped (trx: Db): Promise<boolean> {
  const { rows } = await sql`select 1 from bootstrap_state`.execute(trx)
  return rows.length > 0
}

export async function anyIdentityExists (trx: Db): Promise<boolean> {
  const { rows } = await sql`select 1 from identities limit 1`.execute(trx)
  return rows.length > 0
}

export async function markBootstrapped (trx: Db, identityId: string | null): Promise<void> {
  await sql`insert into bootstrap_state (identity_id) values (${identityId}) on conflict do nothing`.execute(trx)
}
