// Verifies a platform-signed JWT presented to Tally (docs/reference/federation.md; RFC 7523 §3 as profiled there), for both
// forms: the jwt-bearer grant (RFC 7523 §2.1) and federated client authentication (§2.2). The checks, in
// order: iss is a trust's issuer (never Tally's own — a Tally token is never an assertion), the signature
// verifies with a key of that trust's JWKS under an asymmetric alg, aud contains the trust's audience,
// exp present and not past, nbf/iat not in the future (30 s leeway), exp − iat within the trust's maximum,
// and sub + context match an active federated credential of an active identity.
// A platform token is NOT single-use (unlike a private_key_jwt assertion): it may be presented until exp.
import type { Client, ClientLoader, SessionState, TokenRef } from '../store/clients.js'
import type { TrustRow } from '../store/database.js'
import type { TrustLoader } from '../store/trusts.js'
import { matchHolds, type Context } from '../entitlements/context.js'
import { buildContext } from './claims-context.js'
import { AssertionRejected } from './errors.js'
import type { JwksCache } from './jwks-cache.js'
import { PLATFORM_ALGORITHMS, verifySignature as verifyJwsSignature } from './signature.js'

const LEEWAY_S = 30
const MAX_ASSERTION_LENGTH = 16 * 1024 // 16 KiB: platform tokens are 1–2 KiB
const MAX_CLAIM_LENGTH = 2048
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
// No control characters (NUL among them: Postgres refuses it in text) in anything that reaches SQL.
const PRINTABLE = /^[^\u0000-\u001f\u007f]+$/

export interface FederationDeps {
  clients: ClientLoader
  /** Tally's own ISSUER. */
  issuer: string
  jwks: JwksCache
  trusts: TrustLoader
}

export interface FederatedAuthentication {
  client: Client
  credentialId: string
  session: SessionState | null
  ctx: Context
  /** The assertion's exp (seconds): no token minted from it may outlive it. */
  exp: number
  trustId: string
}

function decodeJson (segment: string, what: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch (err) {
    throw new AssertionRejected(`assertion ${what} is not valid json`, { cause: err })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AssertionRejected(`assertion ${what} is not a json object`)
  return value as Record<string, unknown>
}

const printable = (value: unknown): value is string => typeof value === 'string' && value.length <= MAX_CLAIM_LENGTH && PRINTABLE.test(value)

export async function verifyFederatedAssertion (deps: FederationDeps, assertion: string, clientId: string | undefined, token?: TokenRef): Promise<FederatedAuthentication> {
  if (assertion.length > MAX_ASSERTION_LENGTH) throw new AssertionRejected('assertion is too long')
  if (!COMPACT_JWS.test(assertion)) throw new AssertionRejected('assertion is not a compact jws')
  const [h, p] = assertion.split('.') as [string, string, string]
  const header = decodeJson(h, 'header')
  const claims = decodeJson(p, 'claims')

  if (!printable(claims.iss)) throw new AssertionRejected('assertion iss is missing or invalid')
  // A Tally access token is never an assertion: Tally is not its own trust.
  if (claims.iss === deps.issuer) throw new AssertionRejected('assertion is a tally token')
  if (typeof header.alg !== 'string' || !PLATFORM_ALGORITHMS.includes(header.alg)) throw new AssertionRejected('assertion alg is not an accepted asymmetric algorithm')
  if (header.crit !== undefined) throw new AssertionRejected('assertion header carries crit')
  if (header.kid !== undefined && !printable(header.kid)) throw new AssertionRejected('assertion kid is invalid')
  if (!printable(claims.sub)) throw new AssertionRejected('assertion sub is missing or invalid')
  if (clientId !== undefined && (clientId.length > 128 || !PRINTABLE.test(clientId))) throw new AssertionRejected('client_id is invalid')

  const { trust, candidates } = await deps.trusts.load(claims.iss, claims.sub)
  if (trust === undefined) throw new AssertionRejected('assertion iss is not a trusted issuer')

  await verifySignature(deps.jwks, trust, assertion, header.alg, header.kid as string | undefined)
  const exp = checkClaims(trust, claims)

  const ctx = buildContext(claims, trust.claims)
  let matching = candidates.filter((c) => matchHolds(c.match, ctx))
  if (clientId !== undefined) matching = matching.filter((c) => c.clientId === clientId)
  const identities = new Set(matching.map((c) => c.identityId))
  if (identities.size === 0) throw new AssertionRejected('no federated credential matches the assertion sub and context')
  if (identities.size > 1) throw new AssertionRejected('the assertion matches several identities: client_id is required')
  const chosen = matching[0] as (typeof matching)[number]

  const { client, session } = await deps.clients.load(chosen.clientId, token)
  // Loaded after the lookup: the identity must still be active, with the credential still unrevoked.
  if (client === undefined || client.status !== 'active' || client.id !== chosen.identityId) {
    throw new AssertionRejected('no federated credential matches the assertion sub and context')
  }
  const credential = matching.find((c) => client.credentials.some((k) => k.id === c.credentialId))
  if (credential === undefined) throw new AssertionRejected('no federated credential matches the assertion sub and context')
  return { client, credentialId: credential.credentialId, session, ctx, exp, trustId: trust.id }
}

async function verifySignature (jwks: JwksCache, trust: TrustRow, assertion: string, alg: string, kid: string | undefined): Promise<void> {
  const keys = await jwks.keysFor(trust, alg, kid)
  const dot = assertion.lastIndexOf('.')
  const signingInput = assertion.slice(0, dot)
  const signature = assertion.slice(dot + 1)
  // RFC 8725 §3.1: the algorithm is pinned to the key's type (signature.ts); never none, never HMAC.
  for (const key of keys) if (await verifyJwsSignature(alg, key, signingInput, signature)) return
  throw new AssertionRejected('assertion signature does not verify')
}

/** The time, audience and lifetime checks of docs/reference/federation.md; returns exp. */
function checkClaims (trust: TrustRow, claims: Record<string, unknown>): number {
  const now = Math.floor(Date.now() / 1000)
  const aud = claims.aud
  const audiences = Array.isArray(aud) ? aud : [aud]
  if (!audiences.includes(trust.audience)) throw new AssertionRejected('assertion aud does not contain the trust audience')
  const { exp, nbf, iat } = claims
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new AssertionRejected('assertion exp is missing')
  // No leeway on exp: a token minted from the assertion may not outlive it, so an expired one has nothing to give.
  if (exp <= now) throw new AssertionRejected('assertion has expired')
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + LEEWAY_S)) throw new AssertionRejected('assertion nbf is in the future')
  if (iat !== undefined && (typeof iat !== 'number' || iat > now + LEEWAY_S)) throw new AssertionRejected('assertion iat is in the future')
  // Without iat, the lifetime still left is what is bounded.
  if (exp - (typeof iat === 'number' ? iat : now) > trust.max_assertion_lifetime_s) throw new AssertionRejected('assertion lifetime exceeds the trust maximum')
  return Math.floor(exp)
}
