// RFC 6749 §4.4 client credentials, with RFC 8707 resource indicators and RFC 9068 access tokens.
// Cost per token: the client was loaded in one round trip by authentication; here one signature and one
// session row, which the SessionWriter commits together with those of concurrent requests.
import { InvalidTarget } from '../../errors.js'
import { tokenDigest } from '../../keys/crypto.js'
import { signJwt } from '../../keys/keystore.js'
import type { ClientEntitlement } from '../../store/clients.js'
import type { AccessTokenClaims, TokenEntitlement } from '../access-token.js'
import { grantScopes, parseScope } from '../scope.js'
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

function selectResource (entitlements: ClientEntitlement[], requested: string | undefined): string {
  const entitled = new Set(entitlements.map((e) => e.resource))
  if (requested !== undefined) {
    if (!entitled.has(requested)) throw new InvalidTarget('the client is not entitled to the requested resource')
    return requested
  }
  if (entitled.size === 0) throw new InvalidTarget('the client holds no entitlements')
  if (entitled.size > 1) throw new InvalidTarget('resource is required: the client is entitled to several resources')
  return entitled.values().next().value as string
}

export async function handler (ctx: GrantContext, request: GrantRequest): Promise<TokenResponse> {
  const { client, credentialId } = request.auth
  const now = Math.floor(Date.now() / 1000)
  // An entitlement expiring within this second cannot back a token that lives at least one second.
  const live = client.entitlements.filter((e) => e.expiresAt === null || e.expiresAt > now)
  const resource = selectResource(live, requestedResource(request))
  const onResource = live.filter((e) => e.resource === resource)
  const held = new Set(onResource.flatMap((e) => e.scopes))
  const scopes = grantScopes(parseScope(request.params.scope), held)
  const granted = new Set(scopes)

  const used = onResource.filter((e) => e.scopes.some((s) => granted.has(s)))
  const entitlements: TokenEntitlement[] = used.map((e) => ({
    resource: e.resource,
    scopes: e.scopes.filter((s) => granted.has(s)),
    ...(e.conditions !== null && { conditions: e.conditions }),
    ...(e.expiresAt !== null && { expires_at: e.expiresAt })
  }))

  const resourceMaxTtl = onResource[0]?.resourceMaxTtlS ?? Infinity
  const ttl = Math.min(client.tokenTtlS ?? ctx.config.tokenTtlDefaultS, resourceMaxTtl, ctx.config.tokenTtlMaxS)
  const exp = Math.min(now + ttl, ...used.map((e) => e.expiresAt ?? Infinity))

  const claims: AccessTokenClaims = {
    iss: ctx.config.issuer,
    sub: client.id,
    client_id: client.clientId,
    aud: resource,
    iat: now,
    exp,
    jti: uuidv7(),
    scope: scopes.join(' '),
    epoch: client.epoch,
    entitlements
  }
  const key = ctx.keys.signingKey()
  const accessToken = signJwt(key, { typ: 'at+jwt' }, claims as unknown as Record<string, unknown>)

  // The session is durable before the token leaves: introspection and revocation depend on it.
  await ctx.sessions.write({
    jti: claims.jti,
    identity_id: client.id,
    epoch: client.epoch,
    resource_id: (onResource[0] as ClientEntitlement).resourceId,
    scope: claims.scope,
    iat: new Date(now * 1000),
    exp: new Date(exp * 1000),
    credential_id: credentialId,
    token_hash: tokenDigest(accessToken),
    kid: key.kid,
    entitlement_ids: used.map((e) => e.id)
  })
  return { access_token: accessToken, token_type: 'Bearer', expires_in: exp - now, scope: claims.scope }
}
