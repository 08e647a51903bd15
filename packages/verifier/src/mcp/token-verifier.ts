// An adapter from Tally's verifier to the MCP SDK's `OAuthTokenVerifier` (`requireBearerAuth({ verifier })`):
// each call answers from the epoch feed view (docs/reference/epoch-feed.md, mcp.md), so a revoked or narrowed agent is refused by
// the MCP server within the feed's bound, not when its token expires. Refusals are the SDK's own error
// classes, which `requireBearerAuth` maps to statuses: InvalidTokenError → 401 (the client fetches a new
// token), InsufficientScopeError → 403, ServerError → 500 (the view is too old to vouch for any token:
// the SDK has no 503; a fastify server can use mcpBearerAuth, which answers 503 + Retry-After).
// The SDK is an optional peer dependency: its error classes are imported on first use, and the types
// below are structural copies of its AuthInfo and OAuthTokenVerifier, so nothing here needs it to load.
import type { AccessTokenClaims, InactiveReason, Verifier } from '../index.js'

/** The SDK's `AuthInfo` (server/auth/types.ts), structurally. */
export interface McpAuthInfo {
  token: string
  clientId: string
  scopes: string[]
  /** Seconds since the epoch. */
  expiresAt?: number
  /** The RFC 8707 resource the token is for: its `aud`. */
  resource?: URL
  /** Tally's claims: `sub`, `epoch`, `jti`, `iss`, `iat`, `entitlements` (and `act` on a delegated token). */
  extra?: Record<string, unknown>
}

/** The SDK's `OAuthTokenVerifier`, structurally. */
export interface McpTokenVerifier {
  verifyAccessToken: (token: string) => Promise<McpAuthInfo>
}

export interface McpTokenVerifierOptions {
  /** Scopes every token must carry (checked by the verifier; `requireBearerAuth({ requiredScopes })` works as well). */
  scopes?: string[]
}

interface SdkErrors {
  InvalidTokenError: new (message: string) => Error
  InsufficientScopeError: new (message: string) => Error
  ServerError: new (message: string) => Error
}

let sdkErrors: Promise<SdkErrors> | undefined
async function loadSdkErrors (): Promise<SdkErrors> {
  sdkErrors ??= import('@modelcontextprotocol/sdk/server/auth/errors.js')
    .then((m) => m as unknown as SdkErrors)
    .catch((err: unknown) => {
      sdkErrors = undefined
      throw new Error('createMcpTokenVerifier needs the optional peer dependency @modelcontextprotocol/sdk', { cause: err })
    })
  return await sdkErrors
}

/** The AuthInfo of an active token: the SDK's fields, and Tally's claims in `extra`. */
export function authInfoOf (token: string, claims: AccessTokenClaims): McpAuthInfo {
  const aud = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud
  let resource: URL | undefined
  try { resource = aud === undefined ? undefined : new URL(aud) } catch { resource = undefined }
  const { sub, epoch, jti, iss, iat, entitlements, act } = claims as AccessTokenClaims & { act?: unknown }
  return {
    token,
    clientId: claims.client_id,
    scopes: claims.scope.split(' ').filter((s) => s !== ''),
    expiresAt: claims.exp,
    ...(resource !== undefined && { resource }),
    extra: { sub, epoch, jti, iss, iat, aud, entitlements, ...(act !== undefined && { act }) }
  }
}

const DESCRIPTIONS: Record<Exclude<InactiveReason, 'insufficient_scope' | 'feed_unavailable'>, string> = {
  stale: 'stale: the agent\'s entitlements changed or its sessions were revoked; get a new token',
  revoked: 'revoked',
  expired: 'expired',
  invalid: 'invalid'
}

/**
 * Wraps a verifier (createVerifier, whose `audience` is this MCP server's resource) for the SDK:
 *
 * ```ts
 * const verifier = await createVerifier({ issuer, audience: resource, clientId, clientSecret })
 * app.use('/mcp', requireBearerAuth({ verifier: await createMcpTokenVerifier(verifier),
 *   resourceMetadataUrl: protectedResourceMetadataUrl(resource) }))
 * ```
 */
export async function createMcpTokenVerifier (verifier: Verifier, options: McpTokenVerifierOptions = {}): Promise<McpTokenVerifier> {
  const errors = await loadSdkErrors()
  const scopes = options.scopes !== undefined && options.scopes.length > 0 ? options.scopes : undefined
  return {
    async verifyAccessToken (token: string): Promise<McpAuthInfo> {
      const result = await verifier.verify(token, scopes === undefined ? undefined : { scopes })
      if (result.active) return authInfoOf(token, result.claims)
      if (result.reason === 'insufficient_scope') throw new errors.InsufficientScopeError(`the request requires scope ${(scopes ?? []).join(' ')}`)
      if (result.reason === 'feed_unavailable') throw new errors.ServerError('feed_unavailable: cannot vouch for any token now; retry shortly')
      throw new errors.InvalidTokenError(DESCRIPTIONS[result.reason])
    }
  }
}
