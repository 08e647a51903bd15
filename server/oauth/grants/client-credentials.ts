// RFC 6749 §4.4 client credentials, with RFC 8707 resource indicators and RFC 9068 access tokens.
// Cost per token: the client was loaded in one round trip by authentication; here one signature and one
// session row, which the SessionWriter commits together with those of concurrent requests.
import { InvalidTarget } from '../../errors.js'
import { tokenDigest } from '../../keys/crypto.js'
import { signJwt } from '../../keys/keystore.js'
import { decideTokenEntitlements } from '../../entitlements/token-entitlements.js'
import type { AccessTokenClaims } from '../access-token.js'
import { uuidv7 } from '../jti.js'
import type { GrantContext, GrantRequest, TokenResponse } from './index.js'

export const grantType = 'client_credentials'
export const parameters = ['scope', 'resource', 'audience']

// RFC 8707 §2: one audience per token here; `audience` is accepted as an alias of `resource`.
function requestedResource (request: GrantRequest): string | undefined {
  const targets = new Set(request.resources)
  if (request.params.audience !== undefined) targets.add(request.params.audience)
  if (targets.size > 1) throw new InvalidTarget('only one resource may be requested per token')
  return targets.values().next().value
}

export async function handler (ctx: GrantContext, request: GrantRequest): Promise<TokenResponse> {
  const { client, credentialId, federated } = request.auth
  const now = Math.floor(Date.now() / 1000)
  const decision = decideTokenEntitlements({
    entitlements: client.entitlements,
    requestedResource: requestedResource(request),
    scope: request.params.scope,
    identityTtlS: client.tokenTtlS,
    defaultTtlS: ctx.config.tokenTtlDefaultS,
    maxTtlS: ctx.config.tokenTtlMaxS,
    nowS: now,
    // docs/reference/federation.md: from a platform's assertion, only what its live context satisfies, never past its exp.
    ...(federated !== undefined && { context: federated.ctx, notAfterS: federated.exp })
  })
  const exp = decision.expS

  const claims: AccessTokenClaims = {
    iss: ctx.config.issuer,
    sub: client.id,
    client_id: client.clientId,
    aud: decision.resource,
    iat: now,
    exp,
    jti: uuidv7(),
    scope: decision.scopes.join(' '),
    epoch: client.epoch,
    entitlements: decision.entitlements,
    ...(federated !== undefined && { ctx: federated.ctx })
  }
  const key = ctx.keys.signingKey()
  const accessToken = signJwt(key, { typ: 'at+jwt' }, claims as unknown as Record<string, unknown>)

  // The session is durable before the token leaves: introspection and revocation depend on it.
  await ctx.sessions.write({
    jti: claims.jti,
    identity_id: client.id,
    epoch: client.epoch,
    resource_id: decision.resourceId,
    scope: claims.scope,
    iat: new Date(now * 1000),
    exp: new Date(exp * 1000),
    credential_id: credentialId,
    token_hash: tokenDigest(accessToken),
    kid: key.kid,
    entitlement_ids: decision.entitlementIds
  })
  return { access_token: accessToken, token_type: 'Bearer', expires_in: exp - now, scope: claims.scope }
}
