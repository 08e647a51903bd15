// Credentials in the admin API (docs/reference/concepts.md, admin-api.md): never the secret hash. The hot-path read of credentials for
// client authentication is in clients.ts. Contracts as in identities.ts.
import { sql } from './kysely.js'
import type { Db } from './database.js'

/** The columns the admin API shows (never the secret hash). */
const CREDENTIAL_COLUMNS = ['id', 'type', 'secret_prefix', 'jwk', 'issuer', 'subject', 'match', 'expires_at', 'revoked_at', 'created_at'] as const

export interface CredentialRow {
  id: string
  type: 'client_secret' | 'jwk' | 'federated'
  secret_prefix: string | null
  jwk: unknown
  /** Federated credentials (docs/reference/federation.md) only. */
  issuer: string | null
  subject: string | null
  match: unknown
  expires_at: Date | null
  revoked_at: Date | null
  created_at: Date
}

/** The identity's credentials in creation order. Reads, locks nothing. */
export async function credentialsOf (db: Db, identityId: string): Promise<CredentialRow[]> {
  return await db.selectFrom('credentials').select(CREDENTIAL_COLUMNS)
    .where('identity_id', '=', identityId).orderBy('created_at').orderBy('id').execute()
}

/** Inserts a client secret's keyed hash and display prefix. */
export async function insertSecret (trx: Db, identityId: string, secret: { hash: Buffer, prefix: string, expiresAt: Date | null }): Promise<CredentialRow> {
  return await trx.insertInto('credentials').values({
    identity_id: identityId, type: 'client_secret', secret_hash: secret.hash, secret_prefix: secret.prefix, expires_at: secret.expiresAt
  }).returning(CREDENTIAL_COLUMNS).executeTakeFirstOrThrow()
}

/** Is a live key with this kid registered? Reads; consistent when the caller holds the identity's lock. */
export async function hasLiveKid (db: Db, identityId: string, kid: string): Promise<boolean> {
  const row = await db.selectFrom('credentials').select('id').where('identity_id', '=', identityId)
    .where('type', '=', 'jwk').where('revoked_at', 'is', null).where(sql<boolean>`jwk->>'kid' = ${kid}`).executeTakeFirst()
  return row !== undefined
}

/** Inserts a public JWK for private_key_jwt. */
export async function insertJwk (trx: Db, identityId: string, jwk: object, expiresAt: Date | null): Promise<CredentialRow> {
  return await trx.insertInto('credentials').values({ identity_id: identityId, type: 'jwk', jwk: JSON.stringify(jwk), expires_at: expiresAt })
    .returning(CREDENTIAL_COLUMNS).executeTakeFirstOrThrow()
}

/** One credential of the identity. Reads, locks nothing (in a change: under the identity lock). */
export async function findCredential (db: Db, identityId: string, credentialId: string): Promise<CredentialRow | undefined> {
  return await db.selectFrom('credentials').select(CREDENTIAL_COLUMNS)
    .where('id', '=', credentialId).where('identity_id', '=', identityId).executeTakeFirst()
}

/** Marks the credential revoked (the caller holds the identity). */
export async function markCredentialRevoked (trx: Db, credentialId: string): Promise<void> {
  await trx.updateTable('credentials').set({ revoked_at: sql`now()` }).where('id', '=', credentialId).execute()
}
