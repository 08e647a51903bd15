// The claims of a Tally access token (RFC 9068 §2.2, SPEC §3), checked beyond what jwtVerify does.
import type { JWTPayload } from 'jose'

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
}

/** Does the payload have every claim Tally puts in an access token, with the right types? */
export function isAccessTokenClaims (payload: JWTPayload): payload is AccessTokenClaims {
  const p = payload as Record<string, unknown>
  return typeof p.sub === 'string' && typeof p.jti === 'string' && typeof p.scope === 'string' &&
    typeof p.client_id === 'string' && Number.isSafeInteger(p.epoch) && (p.epoch as number) >= 1 &&
    Number.isSafeInteger(p.exp) && Number.isSafeInteger(p.iat) && Array.isArray(p.entitlements)
}
