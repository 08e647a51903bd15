/**
 * Local verification of Tally access tokens for resource servers (SPEC §4), importable as
 * `tally/verifier`. Signatures are checked against the JWKS (cached, refetched on an unknown `kid`);
 * `iss`, `aud`, `typ`, `exp` and scopes locally; `epoch` and `jti` against a view of Tally's epoch feed,
 * so a revocation or a narrowing change reaches the verifier within milliseconds — and a verifier whose
 * view is older than `maxStalenessS` fails closed rather than trust it.
 *
 * @example
 * ```ts
 * import { createVerifier } from 'tally/verifier'
 *
 * const verifier = await createVerifier({
 *   issuer: 'https://tally.example.com',
 *   audience: 'https://api.example.com',
 *   clientId: 'orders-api',               // an introspector of the resource
 *   clientSecret: process.env.TALLY_SECRET
 * })
 * const result = await verifier.verify(token, { scopes: ['orders:read'] })
 * if (!result.active) console.log(result.reason)   // 'stale', 'revoked', 'expired', ...
 * await verifier.close()
 * ```
 * @packageDocumentation
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose'
import { isAccessTokenClaims, type AccessTokenClaims } from './claims.js'
import { FeedClient, type FeedTransport } from './feed-client.js'
import { discover, rebase, TallyClient, TallyHttpError, type PrivateKeyInput } from './http.js'
import { TokenCache, type CachedToken } from './token-cache.js'
import { EpochView, type FeedEvent } from './view.js'

export type { AccessTokenClaims, TokenEntitlement } from './claims.js'
export type { FeedEvent, FeedSnapshot } from './view.js'
export type { FeedTransport } from './feed-client.js'
export type { PrivateKeyInput } from './http.js'
export { TallyHttpError } from './http.js'
export { tallyAuth, type TallyAuthOptions } from './fastify.js'

/** Why a token is not accepted (SPEC §4). */
export type InactiveReason = 'stale' | 'revoked' | 'expired' | 'invalid' | 'insufficient_scope' | 'feed_unavailable'

export type VerifyResult =
  | { active: true, claims: AccessTokenClaims }
  | { active: false, reason: InactiveReason }

export interface VerifierOptions {
  /** Tally's issuer identifier: the tokens' `iss`, and where discovery is fetched unless `serverUrl` says otherwise. */
  issuer: string
  /** This resource server's identifier: the `aud` its tokens must carry. */
  audience: string
  /** The verifier's own identity: an introspector of `audience` (or an admin). */
  clientId: string
  /** Its client secret (`client_secret_basic`)… */
  clientSecret?: string
  /** …or its private key for `private_key_jwt` (a JWK, CryptoKey or KeyObject; its public half registered in Tally). */
  privateKey?: PrivateKeyInput
  /** The assertion's `alg` with `privateKey`: default the JWK's `alg`, else ES256. */
  privateKeyAlg?: string
  /** How old the feed view may get, in seconds, before tokens are refused. Default: the server's `max_staleness_s`. */
  maxStalenessS?: number
  /** With a view too old: refuse (`'deny'`, the default) or ask Tally's `/introspect` (`'introspect'`). */
  fallback?: 'introspect' | 'deny'
  /** Reach Tally at this base URL instead of the issuer (e.g. an internal address); endpoints are re-based onto it. */
  serverUrl?: string
  /** How to follow the feed: server-sent events (default) or long-polling. */
  transport?: FeedTransport
  /** Verified tokens kept for O(1) re-checks. Default 10 000. */
  cacheSize?: number
  /** Seconds of clock skew tolerated on `exp` and `iat`. Default 0. */
  clockToleranceS?: number
  /** Feed connection problems (the verifier retries by itself); default: ignored. */
  onError?: (err: unknown) => void
  /** Every feed event as it is applied (metrics, tests). */
  onEvent?: (event: FeedEvent) => void
}

export interface Verifier {
  /**
   * Is this bearer token acceptable now? The first call for a token checks its signature and claims;
   * later calls for the same string are O(1): expiry, epoch and revocation against the feed view.
   */
  verify: (token: string, options?: { scopes?: string[] }) => Promise<VerifyResult>
  /** The view's age in milliseconds (Infinity before the first snapshot). */
  readonly stalenessMs: number
  /** The effective `maxStalenessS`. */
  readonly maxStalenessS: number
  /** Stops following the feed. */
  close: () => Promise<void>
}

const ALGORITHMS = ['ES256', 'EdDSA', 'Ed25519']
const inactive = (reason: InactiveReason): VerifyResult => ({ active: false, reason })

/** Creates a verifier: discovers Tally's endpoints, takes a first snapshot of the feed and follows it. */
export async function createVerifier (options: VerifierOptions): Promise<Verifier> {
  const issuer = options.issuer.replace(/\/+$/, '')
  const serverUrl = (options.serverUrl ?? issuer).replace(/\/+$/, '')
  const metadata = await discover(issuer, serverUrl)
  if (metadata.epochs_endpoint === undefined) throw new Error('discovery: the server has no epochs_endpoint')
  const client = new TallyClient(options, issuer)
  const jwks: JWTVerifyGetKey = createRemoteJWKSet(new URL(rebase(metadata.jwks_uri, issuer, serverUrl)))
  const introspectionEndpoint = metadata.introspection_endpoint === undefined ? undefined : rebase(metadata.introspection_endpoint, issuer, serverUrl)
  const fallback = options.fallback ?? 'deny'
  if (fallback === 'introspect' && introspectionEndpoint === undefined) throw new Error('discovery: fallback "introspect" needs an introspection_endpoint')
  const clockTolerance = options.clockToleranceS ?? 0
  const cache = new TokenCache(options.cacheSize ?? 10_000)
  const view = new EpochView()
  let maxStalenessS = options.maxStalenessS ?? Number.NaN

  const feed = new FeedClient({
    client,
    epochsEndpoint: rebase(metadata.epochs_endpoint, issuer, serverUrl),
    view,
    transport: options.transport ?? 'sse',
    maxStalenessS: () => maxStalenessS,
    onError: options.onError ?? (() => {}),
    onEvent: options.onEvent
  })
  const snapshot = await feed.start()
  if (Number.isNaN(maxStalenessS)) maxStalenessS = snapshot.max_staleness_s

  async function verifySignature (token: string): Promise<CachedToken | InactiveReason> {
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer, audience: options.audience, typ: 'at+jwt', algorithms: ALGORITHMS, clockTolerance,
        requiredClaims: ['exp', 'iat', 'jti', 'sub', 'epoch']
      })
      if (!isAccessTokenClaims(payload)) return 'invalid'
      return { claims: payload, scopes: new Set(payload.scope.split(' ').filter((s) => s !== '')) }
    } catch (err) {
      if (err instanceof errors.JWTExpired) return 'expired'
      // The JWKS could not be fetched: we cannot tell, so we refuse — but not as "invalid".
      if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError)) return 'feed_unavailable'
      return 'invalid'
    }
  }

  // The view is too old: SPEC §4 says refuse, or ask the server (which is strictly consistent).
  async function introspect (token: string): Promise<VerifyResult | undefined> {
    if (fallback !== 'introspect') return undefined
    try {
      const res = await client.request(introspectionEndpoint as string, { token }, { forcePost: true })
      const body = await res.json() as { active?: boolean }
      return body.active === true ? undefined : inactive('revoked')
    } catch {
      return inactive('feed_unavailable')
    }
  }

  return {
    async verify (token, verifyOptions = {}) {
      let entry = cache.get(token)
      if (entry === undefined) {
        const checked = await verifySignature(token)
        if (typeof checked === 'string') return inactive(checked)
        entry = checked
        cache.set(token, entry)
      }
      const { claims, scopes } = entry
      if (claims.exp <= Date.now() / 1000 - clockTolerance) {
        cache.delete(token)
        return inactive('expired')
      }
      if (!view.isFresh(maxStalenessS * 1000)) {
        const answer = await introspect(token)
        if (answer !== undefined) return answer
        if (fallback === 'deny') return inactive('feed_unavailable')
      } else {
        if (view.isRevoked(claims.jti)) return inactive('revoked')
        if (claims.epoch < view.epochOf(claims.sub)) return inactive('stale')
      }
      for (const scope of verifyOptions.scopes ?? []) if (!scopes.has(scope)) return inactive('insufficient_scope')
      return { active: true, claims }
    },
    get stalenessMs () { return view.freshAt === 0 ? Infinity : Date.now() - view.freshAt },
    get maxStalenessS () { return maxStalenessS },
    async close () { await feed.close() }
  }
}
