// RFC 9068 JWT access tokens: the claims Tally puts in them, and the strict check that tells whether one
// is active now. The check costs one database round trip and no signature verification: every token Tally
// issues is recorded with the SHA-256 of its exact bytes before it is handed out, so a token whose digest
// matches its session row is one Tally signed, byte for byte — a forged or altered token cannot match.
import type { AccessTokenClaims as VerifiedClaims, TokenEntitlement } from 'tally-verifier'
import type { Db } from '../store/database.js'
import { digestsEqual, tokenDigest } from '../keys/crypto.js'
import type { SessionState } from '../store/clients.js'
import { readSessionState } from '../store/sessions.js'
import { isPlausibleKid } from './safe-text.js'

/** What Tally mints: the verifier's claim set (one source of truth), with exactly one audience. */
export interface AccessTokenClaims extends VerifiedClaims { aud: string }
export type { TokenEntitlement }

export type TokenCheck =
  | { active: true, claims: AccessTokenClaims }
  | { active: false, reason: InactiveReason }

export type InactiveReason = 'malformed' | 'unknown' | 'expired' | 'revoked' | 'stale' | 'disabled' | 'key_removed'

const MAX_TOKEN_LENGTH = 8192
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

function decodeSegment (segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

/** Parses the parts of a token that shape the lookup; undefined for anything that is not a Tally access token. */
export interface ParsedAccessToken { header: Record<string, unknown>, claims: AccessTokenClaims }

export function parseAccessToken (token: string, issuer: string): ParsedAccessToken | undefined {
  if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) return undefined
  const [h, p] = token.split('.') as [string, string, string]
  const header = decodeSegment(h)
  const claims = decodeSegment(p)
  if (header === undefined || claims === undefined) return undefined
  // RFC 9068 §4: the typ header MUST be "at+jwt" (or "application/at+jwt"); RFC 8725 §3.1: one expected alg.
  if (header.typ !== 'at+jwt' && header.typ !== 'application/at+jwt') return undefined
  // The kid is bound into SQL: one with a NUL (which Postgres refuses) is malformed, not a 500.
  if (header.alg !== 'ES256' || !isPlausibleKid(header.kid)) return undefined
  if (claims.iss !== issuer || typeof claims.jti !== 'string' || !UUID.test(claims.jti)) return undefined
  if (!Number.isSafeInteger(claims.epoch) || !Number.isSafeInteger(claims.exp) || !Number.isSafeInteger(claims.iat)) return undefined
  if (typeof claims.sub !== 'string' || typeof claims.aud !== 'string' || typeof claims.scope !== 'string') return undefined
  return { header, claims: claims as unknown as AccessTokenClaims }
}

/** A parsed token that has not expired yet, or the reason it is inactive without asking the store. */
export function preCheckAccessToken (token: string, issuer: string, nowS = Math.floor(Date.now() / 1000)): ParsedAccessToken | { active: false, reason: InactiveReason } {
  const parsed = parseAccessToken(token, issuer)
  if (parsed === undefined) return { active: false, reason: 'malformed' }
  if (parsed.claims.exp <= nowS) return { active: false, reason: 'expired' }
  return parsed
}

/**
 * Decides from the stored state. The digest comparison proves the presented bytes are the very token
 * Tally issued under this jti; the rest is the strict state: key not removed, not revoked, identity
 * active, epoch current.
 */
export function evaluateAccessToken (parsed: ParsedAccessToken, token: string, state: SessionState | null | undefined): TokenCheck {
  if (state == null || !digestsEqual(Buffer.from(state.token_hash, 'hex'), tokenDigest(token))) return { active: false, reason: 'unknown' }
  if (state.key_state === null || state.key_state === 'removed') return { active: false, reason: 'key_removed' }
  if (state.revoked) return { active: false, reason: 'revoked' }
  // Both must be current: the session's recorded epoch (sessionLapse) and the token's own claim (equal unless tampered with).
  const lapse = sessionLapse(state) ?? (parsed.claims.epoch < state.current_epoch ? 'stale' : undefined)
  if (lapse !== undefined) return { active: false, reason: lapse }
  return { active: true, claims: parsed.claims }
}

/**
 * Whether the parties behind a session have moved on, from the store alone: 'disabled' when its identity is
 * not active, 'stale' when the identity's epoch is past the session's or — docs/reference/delegation.md — an
 * actor of a delegated token's chain is stale, inactive or gone, or its parent token is revoked
 * (`chain_live`); undefined while they all stand. The one rule for /introspect and the admin sessions list.
 */
export function sessionLapse (state: Pick<SessionState, 'session_epoch' | 'current_epoch' | 'status' | 'chain_live'>): 'disabled' | 'stale' | undefined {
  if (state.status !== 'active') return 'disabled'
  if (state.session_epoch < state.current_epoch || state.chain_live === false) return 'stale'
  return undefined
}

/**
 * Is this token active now? Strictly consistent: one query reads the session, the identity's current epoch
 * and status and the signing key's state, so a revocation, a narrowing change, a disable or an emergency
 * key removal committed by any instance is seen by the next check.
 */
export async function checkAccessToken (db: Db, token: string, issuer: string, nowS = Math.floor(Date.now() / 1000)): Promise<TokenCheck> {
  const parsed = preCheckAccessToken(token, issuer, nowS)
  if ('active' in parsed) return parsed
  return evaluateAccessToken(parsed, token, await readSessionState(db, parsed.claims.jti, parsed.header.kid as string))
}
