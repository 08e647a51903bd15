// private_key_jwt (RFC 7523 §3, RFC 7521 §4.2): the client signs a JWT with a key whose public half was
// registered through the admin API. The assertion's jti is single-use across every instance: the primary
// key of used_assertions makes the first insert win and every replay fail, atomically.
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify, type JWK, type JWTPayload } from 'jose'
import { InvalidClient } from '../errors.js'
import { claimAssertionJti } from '../store/assertion-jtis.js'
import type { Client, SessionState, TokenRef } from '../store/clients.js'
import type { ClientAuthContext } from './client-auth.js'
import { dummyPublicJwk } from './dummy-keys.js'
import { hasControlCharacters, isClientId } from './safe-text.js'

// RFC 8725 §3.1: asymmetric algorithms only — never none, never HMAC (which a public key could "sign").
export const ASSERTION_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
const LEEWAY_S = 30
// RFC 7523 §3 lets a server refuse an exp "unreasonably far in the future"; common clients (authlib)
// sign exp = iat + 3600 by default, so an hour is reasonable (docs/reference/endpoints.md). The jti is kept that long.
const MAX_LIFETIME_S = 3600
const MAX_ASSERTION_LENGTH = 8192

interface AssertionAudiences { issuer: string, tokenEndpoint: string, calledEndpoint: string }

/** The client an assertion claims to come from, unverified: for throttling, never for trust. */
export function assertionIssuer (assertion: string): string | undefined {
  try {
    const { iss } = decodeJwt(assertion)
    return typeof iss === 'string' ? iss : undefined
  } catch {
    return undefined
  }
}

/** Why a verification that got past the signature failed: the claim jose names, for the log (never the value). */
function claimFailure (err: unknown): string | undefined {
  if (err instanceof joseErrors.JWTClaimValidationFailed || err instanceof joseErrors.JWTExpired) {
    return `assertion ${err.claim} check failed: ${err.reason}`
  }
  return undefined
}

async function verifyWith (jwk: JWK, alg: string | undefined, assertion: string, clientId: string, audiences: AssertionAudiences): Promise<JWTPayload> {
  const key = await importJWK(jwk, alg)
  const { payload } = await jwtVerify(assertion, key, {
    issuer: clientId,
    subject: clientId,
    // docs/reference/endpoints.md: ISSUER, the token endpoint, or the URL of the endpoint being called (authlib's default).
    audience: [audiences.issuer, audiences.tokenEndpoint, audiences.calledEndpoint],
    algorithms: ASSERTION_ALGORITHMS,
    clockTolerance: LEEWAY_S,
    requiredClaims: ['exp', 'jti']
  })
  return payload
}

export async function verifyClientAssertion (ctx: ClientAuthContext, assertion: string, bodyClientId: string | undefined, audiences: AssertionAudiences, token?: TokenRef): Promise<{ client: Client, credentialId: string, session: SessionState | null }> {
  let clientId: string
  let header
  try {
    if (assertion.length > MAX_ASSERTION_LENGTH) throw new Error('assertion too long')
    header = decodeProtectedHeader(assertion)
    const claims = decodeJwt(assertion)
    if (typeof claims.iss !== 'string' || claims.iss !== claims.sub) throw new Error('iss and sub must be the client_id')
    // Before any lookup: an iss that cannot be a client_id (a NUL, 60 KB) never reaches SQL.
    if (!isClientId(claims.iss)) throw new Error('iss is not a well-formed client_id')
    if (bodyClientId !== undefined && bodyClientId !== claims.iss) throw new Error('client_id does not match the assertion')
    if (header.crit !== undefined || header.jwk !== undefined || header.jku !== undefined || header.x5u !== undefined || header.x5c !== undefined) {
      throw new Error('assertion header carries members Tally does not accept')
    }
    if (header.kid !== undefined && (typeof header.kid !== 'string' || hasControlCharacters(header.kid))) throw new Error('malformed kid')
    clientId = claims.iss
  } catch (err) {
    throw new InvalidClient({ cause: err })
  }
  const { client, session } = await ctx.clients.load(clientId, token)
  const kid = header.kid
  const candidates = client === undefined || client.status !== 'active'
    ? []
    : client.credentials.filter((c) => c.type === 'jwk' && (kid === undefined || c.jwk?.kid === kid))

  if (candidates.length === 0) {
    // Same work as a client with a key: one import and one signature check, of the algorithm's key type.
    await verifyWith(dummyPublicJwk(header.alg), typeof header.alg === 'string' ? header.alg : undefined, assertion, clientId, audiences).catch(() => undefined)
    throw new InvalidClient({ cause: client === undefined ? 'unknown client' : client.status !== 'active' ? 'identity is not active' : 'no registered key matches the assertion kid' })
  }

  let failedCheck: string | undefined
  for (const credential of candidates) {
    let payload: JWTPayload
    try {
      payload = await verifyWith(credential.jwk as JWK, (credential.jwk as JWK).alg, assertion, clientId, audiences)
    } catch (err) {
      failedCheck ??= claimFailure(err)
      continue
    }
    const now = Math.floor(Date.now() / 1000)
    const exp = payload.exp as number
    if (exp > now + MAX_LIFETIME_S + LEEWAY_S) throw new InvalidClient({ cause: 'assertion exp is more than 60 minutes ahead' })
    // jose checks iat in the future only with maxTokenAge; docs/reference/endpoints.md allows 30 s of leeway on iat too.
    if (payload.iat !== undefined && payload.iat > now + LEEWAY_S) throw new InvalidClient({ cause: 'assertion issued in the future' })
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256 || hasControlCharacters(payload.jti)) {
      throw new InvalidClient({ cause: 'bad jti' })
    }
    // Keep the jti until the assertion could no longer be accepted (exp + leeway).
    if (!await claimAssertionJti(ctx.db, client!.id, payload.jti, exp + LEEWAY_S)) throw new InvalidClient({ cause: 'assertion replayed' })
    return { client: client!, credentialId: credential.id, session }
  }
  // Log the check that failed (an aud, an exp), not a missing key, when a registered key did verify it.
  throw new InvalidClient({ cause: failedCheck ?? 'no registered key verifies the assertion' })
}
