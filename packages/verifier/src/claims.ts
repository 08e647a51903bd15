// The claims of a Tally access token (RFC 9068 §2.2, docs/reference/access-token.md), checked beyond what jwtVerify does.
import type { JWTPayload } from 'jose'
import { isWellFormedAct, type ActorClaim } from './act.js'

/** One entitlement the token was minted from (RFC 9068 §2.2.3.1). */
export interface TokenEntitlement {
  resource: string
  scopes: string[]
  conditions?: Record<string, unknown>
  /** Seconds since the epoch. */
  expires_at?: number
}

/** The claims of an active Tally access token. */
export interface AccessTokenClaims extends JWTPayload {
  iss: string
  sub: string
  client_id: string
  aud: string | string[]
  iat: number
  exp: number
  jti: string
  scope: string
  /** The identity's epoch when the token was minted. */
  epoch: number
  entitlements: TokenEntitlement[]
  /** The workload's live context, in tokens minted from a platform's assertion (docs/reference/federation.md). */
  ctx?: Record<string, string>
  /** A delegated token's acting party, earlier actors nested inside (RFC 8693 §4.1, docs/reference/delegation.md). */
  act?: ActorClaim
}

/** Does the payload have every claim Tally puts in an access token, with the right types? */
function isAccessTokenClaims (payload: JWTPayload): payload is AccessTokenClaims {
  const p = payload as Record<string, unknown>
  return typeof p.sub === 'string' && typeof p.jti === 'string' && typeof p.scope === 'string' &&
    typeof p.client_id === 'string' && Number.isSafeInteger(p.epoch) && (p.epoch as number) >= 1 &&
    Number.isSafeInteger(p.exp) && Number.isSafeInteger(p.iat) && Array.isArray(p.entitlements) && isWellFormedAct(p.act)
}

/** A verifier's expectations of every token: RFC 9068 §4 (iss, aud, typ) and Tally's claims. */
export interface ClaimExpectations { issuer: string, audience: string, clockToleranceS: number }

// RFC 9068 §2.2: exp, iat, jti, sub (and Tally's epoch) are required; iss and aud are compared below.
const REQUIRED = ['iss', 'aud', 'epoch', 'sub', 'jti', 'iat', 'exp']

/**
 * The claim checks that fail as `invalid` whatever the signature (jose's validateClaimsSet, in its
 * order): required claims present, `iss` equal, `aud` containing ours. Cheap, so they run before the
 * signature is checked: a token for another audience costs no signature verification.
 */
export function invalidClaims (payload: Record<string, unknown>, expected: ClaimExpectations): boolean {
  for (const claim of REQUIRED) if (!Object.hasOwn(payload, claim)) return true
  if (payload.iss !== expected.issuer) return true
  const aud = payload.aud
  return !(aud === expected.audience || (Array.isArray(aud) && aud.includes(expected.audience)))
}

/**
 * The time checks jose makes after the signature (RFC 7519 §4.1.4–4.1.6): `iat`, `nbf` and `exp` numbers,
 * `nbf` reached, `exp` not passed — then Tally's own claim types. Returns the reason to refuse, if any.
 */
export function timeAndShapeCheck (payload: Record<string, unknown>, expected: ClaimExpectations, nowS: number): 'invalid' | 'expired' | undefined {
  const { iat, nbf, exp } = payload
  if (iat !== undefined && typeof iat !== 'number') return 'invalid'
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > nowS + expected.clockToleranceS)) return 'invalid'
  if (exp !== undefined && typeof exp !== 'number') return 'invalid'
  if (typeof exp === 'number' && exp <= nowS - expected.clockToleranceS) return 'expired'
  return isAccessTokenClaims(payload as JWTPayload) ? undefined : 'invalid'
}
