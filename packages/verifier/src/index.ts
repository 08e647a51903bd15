/**
 * Local verification of Tally access tokens for resource servers (docs/reference/verifier.md), importable as
 * `tally-verifier` (and as `tally/verifier` from Tally's own package). Signatures are checked against the JWKS (cached, refetched on an unknown `kid`);
 * `iss`, `aud`, `typ`, `exp` and scopes locally; `epoch`, `jti` and the signing key against a view of Tally's epoch feed,
 * so a revocation or a narrowing change reaches the verifier within milliseconds — and a verifier whose
 * view is older than `maxStalenessS` fails closed rather than trust it.
 *
 * @example
 * ```ts
 * import { createVerifier } from 'tally-verifier'
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
import { hasStaleActor } from './act.js'
import { createRemoteJWKSet, errors } from 'jose'
import { invalidClaims, timeAndShapeCheck, type AccessTokenClaims, type ClaimExpectations } from './claims.js'
import { FeedClient, type FeedTransport } from './feed-client.js'
import { DiscoveryError, VerifierConfigError } from './errors.js'
import { discover, rebase, TallyClient, type PrivateKeyInput } from './http.js'
import { acceptedHeader, splitCompactJws, verifyJwsSignature, type CompactJws } from './jws.js'
import { KeyResolver } from './keys.js'
import { TokenCache, type CachedToken } from './token-cache.js'
import { EpochView, type FeedEvent } from './view.js'

export type { AccessTokenClaims, TokenEntitlement } from './claims.js'
export type { FeedEvent, FeedSnapshot } from './view.js'
export type { FeedTransport } from './feed-client.js'
export type { PrivateKeyInput } from './http.js'
export { TallyVerifierError, VerifierConfigError, DiscoveryError, TallyHttpError } from './errors.js'
export { tallyAuth, type TallyAuthOptions } from './fastify.js'
// The MCP kit (docs/reference/mcp.md); the SDK stays an optional peer dependency, loaded only by createMcpTokenVerifier.
export * from './mcp/index.js'

/** Why a token is not accepted (docs/reference/verifier.md). */
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
   * Is this bearer token acceptable now? The first two calls for a token check its signature and claims
   * (it is cached from the second on); later calls for the same string are O(1): expiry, epoch and
   * revocation against the feed view.
   */
  verify: (token: string, options?: { scopes?: string[] }) => Promise<VerifyResult>
  /** The view's age in milliseconds (Infinity before the first snapshot). */
  readonly stalenessMs: number
  /** The effective `maxStalenessS`. */
  readonly maxStalenessS: number
  /** Stops following the feed. */
  close: () => Promise<void>
}

// Asymmetric algorithms only (RFC 8725 §3.1): `none` and HS* never verify, whatever the JWKS holds.
const ALGORITHMS: readonly string[] = ['ES256', 'EdDSA', 'Ed25519']
// Distinct protected headers remembered parsed (a Tally has one per signing key and algorithm).
const MAX_HEADERS = 32
const inactive = (reason: InactiveReason): VerifyResult => ({ active: false, reason })

/** Options that cannot work fail at once, with `ERR_TALLY_VERIFIER_CONFIG`. */
function checkOptions (options: VerifierOptions): void {
  for (const name of ['issuer', 'audience', 'clientId'] as const) {
    if (typeof options[name] !== 'string' || options[name] === '') throw new VerifierConfigError(`${name} must be a non-empty string`)
  }
  if (options.fallback !== undefined && options.fallback !== 'deny' && options.fallback !== 'introspect') throw new VerifierConfigError('fallback must be "deny" or "introspect"')
  if (options.maxStalenessS !== undefined && !(options.maxStalenessS > 0)) throw new VerifierConfigError('maxStalenessS must be a positive number')
}

/** Creates a verifier: discovers Tally's endpoints, takes a first snapshot of the feed and follows it. */
export async function createVerifier (options: VerifierOptions): Promise<Verifier> {
  checkOptions(options)
  const issuer = options.issuer.replace(/\/+$/, '')
  const serverUrl = (options.serverUrl ?? issuer).replace(/\/+$/, '')
  // Before any request: bad credentials options should fail without touching the network.
  const client = new TallyClient(options, issuer)
  const metadata = await discover(issuer, serverUrl)
  if (metadata.epochs_endpoint === undefined) throw new DiscoveryError('discovery: the server has no epochs_endpoint')
  const keys = new KeyResolver(createRemoteJWKSet(new URL(rebase(metadata.jwks_uri, issuer, serverUrl))))
  const introspectionEndpoint = metadata.introspection_endpoint === undefined ? undefined : rebase(metadata.introspection_endpoint, issuer, serverUrl)
  const fallback = options.fallback ?? 'deny'
  if (fallback === 'introspect' && introspectionEndpoint === undefined) throw new VerifierConfigError('fallback "introspect" needs an introspection_endpoint in the discovery metadata')
  const clockTolerance = options.clockToleranceS ?? 0
  const expected: ClaimExpectations = { issuer, audience: options.audience, clockToleranceS: clockTolerance }
  const cache = new TokenCache(options.cacheSize ?? 10_000)
  const headers = new Map<string, { alg: string, kid: string }>()
  const view = new EpochView()
  // docs/reference/verifier.md: a removed key and every verification made with it go at once. First sight and every re-check
  // also consult the view, so nothing jose still caches (its JWKS for 10 minutes) can bring the key back.
  view.onKeyRemoved = (kid) => {
    keys.drop(kid, options.onError ?? (() => {}))
    cache.deleteSignedBy(kid)
  }
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

  function headerOf (segment: string): { alg: string, kid: string } | undefined {
    let header = headers.get(segment)
    if (header === undefined) {
      header = acceptedHeader(segment, ALGORITHMS)
      if (header === undefined) return undefined
      if (headers.size >= MAX_HEADERS) headers.clear()
      headers.set(segment, header)
    }
    return header
  }

  /**
   * First sight of a token string: everything that can only fail as `invalid` first (shape, header, iss,
   * aud, required claims), then the key (jose, refetching the JWKS on an unknown kid), then the
   * signature on the thread pool, then the time checks. A token refused for another reason (expired,
   * say) is refused for it only once its signature is known good, as jwtVerify did. Plain functions and
   * one `then` rather than a chain of async ones: with a cached key, the signature is the only wait.
   */
  function verifyFirstSight (token: string): Promise<CachedToken | InactiveReason> | InactiveReason {
    const jws = splitCompactJws(token)
    if (jws === undefined) return 'invalid'
    const header = headerOf(jws.encodedHeader)
    if (header === undefined || invalidClaims(jws.payload, expected) || view.isKeyRemoved(header.kid)) return 'invalid'
    const key = keys.cached(header.alg, header.kid, Date.now())
    const signed = key !== undefined ? verifyJwsSignature(header.alg, key, jws) : resolveAndVerify(header.alg, header.kid, jws)
    return signed.then((ok) => ok === true ? afterSignature(jws, header.kid) : ok === false ? 'invalid' : ok)
  }

  async function resolveAndVerify (alg: string, kid: string, jws: CompactJws): Promise<boolean | InactiveReason> {
    let key
    try {
      key = await keys.resolve(alg, kid)
    } catch (err) {
      // The JWKS could not be fetched: we cannot tell, so we refuse — but not as "invalid".
      return err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError) ? 'feed_unavailable' : 'invalid'
    }
    return await verifyJwsSignature(alg, key, jws)
  }

  function afterSignature (jws: CompactJws, kid: string): CachedToken | InactiveReason {
    // The key may have been removed while its signature was being checked.
    if (view.isKeyRemoved(kid)) return 'invalid'
    const refused = timeAndShapeCheck(jws.payload, expected, Math.floor(Date.now() / 1000))
    if (refused !== undefined) return refused
    const claims = jws.payload as AccessTokenClaims
    return { claims, scopes: new Set(claims.scope.split(' ').filter((s) => s !== '')), kid }
  }

  // The view is too old: docs/reference/verifier.md says refuse, or ask the server (which is strictly consistent).
  async function introspect (token: string): Promise<VerifyResult | undefined> {
    try {
      const res = await client.request(introspectionEndpoint as string, { token }, { forcePost: true })
      const body = await res.json() as { active?: boolean }
      return body.active === true ? undefined : inactive('revoked')
    } catch {
      return inactive('feed_unavailable')
    }
  }

  /** The O(1) part, for every call: expiry, then the feed view (epoch, revocation), then scopes. */
  function recheck (token: string, entry: CachedToken, scopes: string[] | undefined, introspected: boolean): VerifyResult | 'introspect' {
    const now = Date.now()
    const { claims } = entry
    // A key removed in an emergency: whatever it signed is untrusted, whatever else the view says.
    if (view.isKeyRemoved(entry.kid)) {
      cache.delete(token)
      return inactive('invalid')
    }
    if (claims.exp <= now / 1000 - clockTolerance) {
      cache.delete(token)
      return inactive('expired')
    }
    if (introspected) {
      // the server vouched for the token: only the scopes remain
    } else if (now - view.freshAt > maxStalenessS * 1000) {
      if (fallback === 'introspect') return 'introspect'
      return inactive('feed_unavailable')
    } else {
      if (view.isRevoked(claims.jti)) return inactive('revoked')
      if (claims.epoch < view.epochOf(claims.sub)) return inactive('stale')
      // docs/reference/delegation.md: every actor of a delegated token must be current too.
      if (hasStaleActor(claims.act, (sub) => view.epochOf(sub))) return inactive('stale')
    }
    if (scopes !== undefined) for (const scope of scopes) if (!entry.scopes.has(scope)) return inactive('insufficient_scope')
    return { active: true, claims }
  }

  /** A first sight, or a re-check that must ask the server because the view is too old. */
  function verifySlowly (token: string, scopes: string[] | undefined, known: CachedToken | undefined): Promise<VerifyResult> {
    if (known !== undefined) return Promise.resolve(finish(token, known, scopes))
    const checked = verifyFirstSight(token)
    if (typeof checked === 'string') return Promise.resolve(inactive(checked))
    return checked.then((entry) => {
      if (typeof entry === 'string') return inactive(entry)
      cache.offer(token, entry)
      return finish(token, entry, scopes)
    })
  }

  function finish (token: string, entry: CachedToken, scopes: string[] | undefined): VerifyResult | Promise<VerifyResult> {
    const result = recheck(token, entry, scopes, false)
    if (result !== 'introspect') return result
    return introspect(token).then((answer) => answer ?? recheck(token, entry, scopes, true) as VerifyResult)
  }

  return {
    verify (token, verifyOptions) {
      const scopes = verifyOptions?.scopes
      const entry = cache.get(token)
      if (entry !== undefined) {
        // A token seen before: no signature, no await — unless the view is too old and we must ask.
        const result = recheck(token, entry, scopes, false)
        if (result !== 'introspect') return Promise.resolve(result)
      }
      return verifySlowly(token, scopes, entry)
    },
    get stalenessMs () { return view.freshAt === 0 ? Infinity : Date.now() - view.freshAt },
    get maxStalenessS () { return maxStalenessS },
    async close () { await feed.close() }
  }
}
