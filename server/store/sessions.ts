// Sessions: one row per issued token (written by SessionWriter), found by jti and revoked by jti.
// Contracts as in identities.ts.
import { sql } from './kysely.js'
import type { Db } from './database.js'
import { sessionStateOf, type SessionState } from './clients.js'
import { chainLiveOf } from './delegations.js'

export interface SessionRecord {
  jti: string
  identityId: string
  tokenHash: Buffer
  exp: Date
  revoked: boolean
}

/** One session by jti. Reads, locks nothing. */
export async function findSession (db: Db, jti: string): Promise<SessionRecord | undefined> {
  const row = await db.selectFrom('sessions').select(['jti', 'identity_id', 'token_hash', 'exp', 'revoked_at'])
    .where('jti', '=', jti).executeTakeFirst()
  if (row === undefined) return undefined
  return { jti: row.jti, identityId: row.identity_id, tokenHash: Buffer.from(row.token_hash), exp: row.exp, revoked: row.revoked_at !== null }
}

/**
 * Marks one session revoked (row lock on it); false when it was already. The row stays until the token's
 * exp (plus retention), so a revoked jti is remembered for as long as the token could be used. Its feed
 * event is appended by commitChange.
 */
export async function markSessionRevoked (trx: Db, jti: string): Promise<boolean> {
  const updated = await trx.updateTable('sessions').set({ revoked_at: sql`now()` })
    .where('jti', '=', jti).where('revoked_at', 'is', null).returning('jti').executeTakeFirst()
  return updated !== undefined
}

/**
 * One token's session state — the session, its identity's current epoch and status, and the signing key's
 * state — in ONE statement, hence one snapshot: strictly consistent with every change committed before it.
 */
export async function readSessionState (db: Db, jti: string, kid: string): Promise<SessionState | null | undefined> {
  const { rows } = await sql<{ state: SessionState | null }>`select ${sessionStateOf(jti, kid)} as state`.execute(db)
  return rows[0]?.state
}

export interface SessionListRow {
  jti: string
  epoch: number
  identifier: string
  scope: string
  iat: Date
  exp: Date
  credential_id: string | null
  revoked_at: Date | null
  /** As in SessionState, read in the same statement: the identity's epoch and status now, and the chain's liveness. */
  current_epoch: number
  status: string
  chain_live: boolean
}

/** The identity's unexpired sessions in jti order after `afterJti` (limit + 1 rows). Reads, locks nothing. */
export async function listLiveSessions (db: Db, identityId: string, afterJti: string | undefined, limit: number): Promise<SessionListRow[]> {
  let query = db.selectFrom('sessions as s').innerJoin('resources as r', 'r.id', 's.resource_id').innerJoin('identities as i', 'i.id', 's.identity_id')
    .select(['s.jti', 's.epoch', 'r.identifier', 's.scope', 's.iat', 's.exp', 's.credential_id', 's.revoked_at', 'i.epoch as current_epoch', 'i.status'])
    .select(chainLiveOf('s').as('chain_live'))
    .where('s.identity_id', '=', identityId).where('s.exp', '>', sql<Date>`now()`)
    .orderBy('s.jti').limit(limit + 1)
  if (afterJti !== undefined) query = query.where('s.jti', '>', afterJti)
  return await query.execute()
}
