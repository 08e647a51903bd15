// private_key_jwt (RFC 7523 §3, RFC 7521 §4.2): the client signs a short-lived JWT with a key whose public
// half was registered through the admin API. The assertion's jti is single-use across every instance: the
// primary key of used_assertions makes the first insert win and every replay fail, atomically.
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose'
import { sql } from 'kysely'
import { InvalidClient } from '../errors.js'
import type { Client, SessionState, TokenRef } from '../store/clients.js'
import type { ClientAuthContext } from './client-auth.js'

// RFC 8725 §3.1: asymmetric algorithms only — never none, never HMAC (which a public key could "sign").
export const ASSERTION_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
const LEEWAY_S = 30
const MAX_LIFETIME_S = 300
const MAX_ASSERTION_LENGTH = 8192

export async function verifyClientAssertion (ctx: ClientAuthContext, assertion: string, bodyClientId: string | undefined, token?: TokenRef): Promise<{ client: Client, credentialId: string, session: SessionState | null }> {
  let clientId: string
  let kid: unknown
  try {
    if (assertion.length > MAX_ASSERTION_LENGTH) throw new Error('assertion too long')
    const header = decodeProtectedHeader(assertion)
    const claims = decodeJwt(assertion)
    kid = header.kid
    if (typeof claims.iss !== 'string' || claims.iss !== claims.sub) throw new Error('iss and sub must be the client_id')
    if (bodyClientId !== undefined && bodyClientId !== claims.iss) throw new Error('client_id does not match the assertion')
    if (header.crit !== undefined || header.jwk !== undefined || header.jku !== undefined || header.x5u !== undefined || header.x5c !== undefined) {
      throw new Error('assertion header carries members Tally does not accept')
    }
    clientId = claims.iss
  } catch (err) {
    throw new InvalidClient({ cause: err })
  }
  const { client, session } = clientId.length <= 128 ? await ctx.clients.load(clientId, token) : { client: undefined, session: null }
  if (client === undefined || client.status !== 'active') throw new InvalidClient({ cause: 'unknown or inactive client' })

  const candidates = client.credentials.filter((c) => c.type === 'jwk' && (kid === undefined || c.jwk?.kid === kid))
  for (const credential of candidates) {
    let payload
    try {
      const key = await importJWK(credential.jwk as JWK, (credential.jwk as JWK).alg)
      ;({ payload } = await jwtVerify(assertion, key, {
        issuer: clientId,
        subject: clientId,
        audience: [ctx.issuer, ctx.tokenEndpoint],
        algorithms: ASSERTION_ALGORITHMS,
        clockTolerance: LEEWAY_S,
        requiredClaims: ['exp', 'jti']
      }))
    } catch {
      continue
    }
    const now = Math.floor(Date.now() / 1000)
    const exp = payload.exp as number
    if (exp > now + MAX_LIFETIME_S + LEEWAY_S) throw new InvalidClient({ cause: 'assertion lives longer than 5 minutes' })
    // jose checks iat in the future only with maxTokenAge; SPEC §3 allows 30 s of leeway on iat too.
    if (payload.iat !== undefined && payload.iat > now + LEEWAY_S) throw new InvalidClient({ cause: 'assertion issued in the future' })
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256) throw new InvalidClient({ cause: 'bad jti' })
    // Keep the jti until the assertion could no longer be accepted (exp + leeway).
    const { rows } = await sql`
      insert into used_assertions (identity_id, jti, exp) values (${client.id}, ${payload.jti}, to_timestamp(${exp + LEEWAY_S}))
      on conflict do nothing returning jti`.execute(ctx.db)
    if (rows.length === 0) throw new InvalidClient({ cause: 'assertion replayed' })
    return { client, credentialId: credential.id, session }
  }
  throw new InvalidClient({ cause: 'no registered key verifies the assertion' })
}
