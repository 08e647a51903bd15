// The durable bootstrap marker (migration 2026_12_01_10_00_00): one row once the database has been
// bootstrapped, written in the same transaction as the bootstrap admin. Also the bootstrap admin's rows.
// Contracts as in identities.ts; every function runs in bootstrapAdmin's transaction, under lockBootstrap.
import { sql } from './kysely.js'
import type { Db } from './database.js'

/** Serialises concurrent first starts (two instances on one new database) inside their transactions. */
export async function lockBootstrap (trx: Db): Promise<void> {
  await sql`select pg_advisory_xact_lock(${0x7a11_0004})`.execute(trx)
}

/** Whether the marker row exists. Reads, locks nothing (under lockBootstrap: no other first start writes it meanwhile). */
export async function wasBootstrapped (trx: Db): Promise<boolean> {
  const { rows } = await sql`select 1 from bootstrap_state`.execute(trx)
  return rows.length > 0
}

/** Whether any identity row exists, deleted ones included. Reads one row, locks nothing. */
export async function anyIdentityExists (trx: Db): Promise<boolean> {
  const { rows } = await sql`select 1 from identities limit 1`.execute(trx)
  return rows.length > 0
}

/** Writes the marker (once: a second write is a no-op). Visible to other starts when the caller commits. */
export async function markBootstrapped (trx: Db, identityId: string | null): Promise<void> {
  await sql`insert into bootstrap_state (identity_id) values (${identityId}) on conflict do nothing`.execute(trx)
}

interface BootstrapAdmin { clientId: string, name: string, secretHash: Uint8Array, secretPrefix: string, scopes: string[], reason: string }

/**
 * Inserts the admin identity, its client secret and its entitlement to the built-in `urn:tally:admin`
 * resource (read, not locked: built in, the admin API never changes it). Four statements in the caller's transaction; the
 * rows become visible together when it commits. Returns the new identity's id and client_id.
 */
export async function insertBootstrapAdmin (trx: Db, admin: BootstrapAdmin): Promise<{ id: string, client_id: string }> {
  const identity = await trx.insertInto('identities')
    .values({ client_id: admin.clientId, kind: 'admin', name: admin.name })
    .returning(['id', 'client_id']).executeTakeFirstOrThrow()
  await trx.insertInto('credentials').values({
    identity_id: identity.id, type: 'client_secret', secret_hash: admin.secretHash, secret_prefix: admin.secretPrefix
  }).execute()
  const resource = await trx.selectFrom('resources').select('id').where('identifier', '=', 'urn:tally:admin').executeTakeFirstOrThrow()
  await trx.insertInto('entitlements').values({
    identity_id: identity.id, resource_id: resource.id, scopes: admin.scopes, reason: admin.reason
  }).execute()
  return identity
}
