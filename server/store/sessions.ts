// Sessions: one row per issued token (written by SessionWriter), found by jti and revoked by jti.
import { sql } from 'kysely'
import type { Db } from './database.js'
import { appendRevokedEvent } from './epochs.js'
import { revokeDerivedSessions } from './delegations.js'

export interface SessionRecord {
  jti: string
  identityId: string
  tokenHash: Buffer
  exp: Date
  revoked: boolean
}

export async function findSession (db: Db, jti: string): Promise<SessionRecord | undefined> {
  const row = await db.selectFrom('sessions').select(['jti', 'identity_id', 'token_hash', 'exp', 'revoked_at'])
    .where('jti', '=', jti).executeTakeFirst()
  if (row === undefined) return undefined
  return { jti: row.jti, identityId: row.identity_id, tokenHash: Buffer.from(row.token_hash), exp: row.exp, revoked: row.revoked_at !== null }
}

/**
 * Marks one session revoked and publishes it to the feed, in the caller's transaction. The row stays until
 * the token's exp (plus retention), so a revoked jti is remembered for as long as the token could be used.
 * Returns false when it was already revoked.
 */
export async function revokeSession (trx: Db, session: SessionRecord): Promise<boolean> {
  const updated = await trx.updateTable('sessions').set({ revoked_at: sql`now()` })
    .where('jti', '=', session.jti).where('revoked_at', 'is', null).returning('jti').executeTakeFirst()
  if (updated === undefined) return false
  await appendRevokedEvent(trx, session.identityId, session.jti, session.exp)
  // SPEC §8: every token exchanged from this one dies with it, in this transaction.
  await revokeDerivedSessions(trx, session.jti)
  return true
}
