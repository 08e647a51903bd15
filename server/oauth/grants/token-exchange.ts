// RFC 8693 §2 token exchange, for delegation (docs/reference/delegation.md): the authenticated client (the actor) presents an
// active Tally token of a subject, and gets a token that names both — `sub` the subject, `act` the actor
// with the earlier actors nested inside (§4.1). Each hop needs a delegation from the subject token's
// holder to the actor, and every hop only narrows: scopes are the request ∩ the subject's live
// entitlements ∩ every delegation of the chain, and `exp` never outlives any of them.
import { InvalidRequest, InvalidScope, InvalidTarget } from '../../errors.js'
import { actorsOf, MAX_CHAIN_DEPTH, type ActClaim } from '../../delegation/act.js'
import { entitlementsForContext } from '../../entitlements/context.js'
import { InvalidGrant } from '../../federation/errors.js'
import { tokenDigest } from '../../keys/crypto.js'
import { signJwt } from '../../keys/keystore.js'
import { insertDelegatedSession, loadExchangeState, type LiveDelegation } from '../../store/delegations.js'
import { checkAccessToken, type AccessTokenClaims, type TokenEntitlement } from '../access-token.js'
import { uuidv7 } from '../jti.js'
import { grantScopes, parseScope } from '../scope.js'
import type { GrantContext, GrantRequest, TokenResponse } from './index.js'

export const grantType = 'urn:ietf:params:oauth:grant-type:token-exchange'
export const parameters = ['scope', 'resource', 'audience', 'subject_token', 'subject_token_type', 'actor_token',
  'actor_token_type', 'requested_token_type']

// RFC 8693 §3 token type identifiers. A Tally access token is a JWT, so either names it.
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'
const TOKEN_TYPES = new Set([ACCESS_TOKEN_TYPE, 'urn:ietf:params:oauth:token-type:jwt'])

function checkParameters (request: GrantRequest): void {
  const p = request.params
  if (p.subject_token === undefined) throw new InvalidRequest('subject_token is required')
  if (p.subject_token_type === undefined) throw new InvalidRequest('subject_token_type is required')
  if (!TOKEN_TYPES.has(p.subject_token_type)) throw new InvalidRequest('subject_token_type must be urn:ietf:params:oauth:token-type:access_token or urn:ietf:params:oauth:token-type:jwt')
  // RFC 8693 §2.1: actor_token_type is REQUIRED when actor_token is present, and MUST NOT be otherwise.
  if (p.actor_token !== undefined && p.actor_token_type === undefined) throw new InvalidRequest('actor_token_type is required with actor_token')
  if (p.actor_token === undefined && p.actor_token_type !== undefined) throw new InvalidRequest('actor_token_type requires actor_token')
  if (p.actor_token_type !== undefined && !TOKEN_TYPES.has(p.actor_token_type)) throw new InvalidRequest('actor_token_type must be urn:ietf:params:oauth:token-type:access_token or urn:ietf:params:oauth:token-type:jwt')
  if (p.requested_token_type !== undefined && p.requested_token_type !== ACCESS_TOKEN_TYPE) {
    throw new InvalidRequest('requested_token_type: only urn:ietf:params:oauth:token-type:access_token is issued')
  }
}

// RFC 8707 §2 / RFC 8693 §2.1: one audience per token; `audience` is accepted as an alias of `resource`.
function requestedResource (request: GrantRequest): string | undefined {
  const targets = new Set(request.resources)
  if (request.params.audience !== undefined) targets.add(request.params.audience)
  if (targets.size > 1) throw new InvalidTarget('only one resource may be requested per token')
  return targets.values().next().value
}

function pickResource (offered: LiveDelegation[], requested: string | undefined): string {
  const resources = new Set(offered.map((d) => d.resource))
  if (requested !== undefined) {
    if (!resources.has(requested)) throw new InvalidTarget('the delegation chain does not cover the requested resource')
    return requested
  }
  if (resources.size !== 1) throw new InvalidTarget(resources.size === 0 ? 'the delegation chain covers no resource' : 'resource is required: the delegations cover several resources')
  return resources.values().next().value as string
}

export async function handler (ctx: GrantContext, request: GrantRequest): Promise<TokenResponse> {
  checkParameters(request)
  const { client: actor, credentialId, federated } = request.auth
  const requested = requestedResource(request)
  const requestedScopes = parseScope(request.params.scope)
  const now = Math.floor(Date.now() / 1000)

  // The same strict check as /introspect: exact bytes, epoch(s) current, identity active, not revoked, key kept.
  const [subjectCheck, actorCheck] = await Promise.all([
    checkAccessToken(ctx.db, request.params.subject_token as string, ctx.config.issuer, now),
    request.params.actor_token === undefined ? undefined : checkAccessToken(ctx.db, request.params.actor_token, ctx.config.issuer, now)
  ])
  if (!subjectCheck.active) throw new InvalidGrant('subject_token is not an active access token')
  if (actorCheck !== undefined && (!actorCheck.active || actorCheck.claims.sub !== actor.id)) {
    throw new InvalidGrant('actor_token is not an active access token of the authenticated client')
  }
  const subjectToken = subjectCheck.claims
  const earlier = actorsOf(subjectToken.act)
  if (earlier.length + 1 > MAX_CHAIN_DEPTH) throw new InvalidGrant(`the delegation chain would be deeper than ${MAX_CHAIN_DEPTH}`)
  // docs/reference/delegation.md: the holder is the innermost-acting party — the current actor of a delegated token, else its sub.
  const holder = earlier[0]?.sub ?? subjectToken.sub

  const state = await loadExchangeState(ctx.db, subjectToken.sub, holder, actor.id, subjectToken.jti)
  if (state.subject === null || state.subject.status !== 'active') throw new InvalidGrant('subject_token is not an active access token')
  const live = (d: { expires_at: number | null }): boolean => d.expires_at === null || d.expires_at > now
  const chain = state.chain.filter(live)
  if (chain.length !== state.chain_ids.length) throw new InvalidGrant('a delegation earlier in the chain is no longer active')
  let offered = state.offered.filter(live)
  if (offered.length === 0) throw new InvalidGrant('no active delegation from the subject token\'s holder to this client')
  // A chain stays on the resource its first hop was delegated for.
  const chainResource = chain[0]?.resource_id
  if (chainResource !== undefined) offered = offered.filter((d) => d.resource_id === chainResource)
  const resource = pickResource(offered, requested)
  offered = offered.filter((d) => d.resource === resource)

  // docs/reference/federation.md: a subject token minted from a platform's assertion keeps its live context down the chain.
  const entitled = entitlementsForContext(state.entitlements.filter((e) => e.resource === resource && live(e)), subjectToken.ctx)
  if (entitled.length === 0) throw new InvalidTarget('the subject holds no entitlement on the requested resource')
  const delegated = new Set(offered.flatMap((d) => d.scopes))
  const allowed = new Set([...new Set(entitled.flatMap((e) => e.scopes))]
    .filter((s) => delegated.has(s) && chain.every((d) => d.scopes.includes(s))))
  const scopes = grantScopes(requestedScopes, allowed)
  if (scopes.length === 0) throw new InvalidScope('the delegation chain allows no scope on this resource')
  const granted = new Set(scopes)

  const used = entitled.filter((e) => e.scopes.some((s) => granted.has(s)))
  const entitlements: TokenEntitlement[] = used.map((e) => ({
    resource: e.resource,
    scopes: e.scopes.filter((s) => granted.has(s)),
    ...(e.conditions !== null && { conditions: e.conditions }),
    ...(e.expires_at !== null && { expires_at: e.expires_at })
  }))
  const hops = [...offered.filter((d) => d.scopes.some((s) => granted.has(s))), ...chain]

  const { config } = ctx
  const ttl = Math.min(actor.tokenTtlS ?? config.tokenTtlDefaultS, state.subject.token_ttl_s ?? config.tokenTtlDefaultS,
    offered[0]?.max_ttl ?? Infinity, config.tokenTtlMaxS)
  const exp = Math.min(now + ttl, subjectToken.exp, ...hops.map((d) => d.expires_at ?? Infinity),
    ...used.map((e) => e.expires_at ?? Infinity), federated?.exp ?? Infinity)

  // RFC 8693 §4.1: the current actor outermost, the subject token's own `act` nested inside it.
  const act: ActClaim = { sub: actor.id, client_id: actor.clientId, epoch: actor.epoch, ...(subjectToken.act !== undefined && { act: subjectToken.act }) }
  const claims: AccessTokenClaims = {
    iss: config.issuer,
    sub: state.subject.id,
    client_id: actor.clientId,
    aud: resource,
    iat: now,
    exp,
    jti: uuidv7(),
    scope: scopes.join(' '),
    epoch: state.subject.epoch,
    entitlements,
    ...(subjectToken.ctx !== undefined && { ctx: subjectToken.ctx }),
    act
  }
  const key = ctx.keys.signingKey()
  const accessToken = signJwt(key, { typ: 'at+jwt' }, claims as unknown as Record<string, unknown>)
  const actors = actorsOf(act)
  await insertDelegatedSession(ctx.db, {
    jti: claims.jti,
    identityId: claims.sub,
    epoch: claims.epoch,
    resourceId: (offered[0] as LiveDelegation).resource_id,
    scope: claims.scope,
    iat: new Date(now * 1000),
    exp: new Date(exp * 1000),
    credentialId,
    tokenHash: tokenDigest(accessToken),
    kid: key.kid,
    parentJti: subjectToken.jti,
    actorIds: actors.map((a) => a.sub),
    actorEpochs: actors.map((a) => a.epoch),
    delegationIds: [...new Set(hops.map((d) => d.id))]
  })
  // RFC 8693 §2.2.1.
  return { access_token: accessToken, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: exp - now, scope: claims.scope }
}
