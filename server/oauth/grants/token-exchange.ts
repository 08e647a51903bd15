// RFC 8693 §2 token exchange, for delegation (docs/reference/delegation.md): the authenticated client (the actor) presents an
// active Tally token of a subject, and gets a token that names both — `sub` the subject, `act` the actor
// with the earlier actors nested inside (§4.1). Each hop needs a delegation from the subject token's
// holder to the actor, and every hop only narrows: scopes are the request ∩ the subject's live
// entitlements ∩ every delegation of the chain, and `exp` never outlives any of them.
// Cost per exchange (docs/performance.md): the actor's authentication and the subject token's session state in one
// grouped round trip, the exchange state in a second (grouped with concurrent exchanges), one signature, and
// the session row through the SessionWriter's group commit.
import { InvalidRequest, InvalidTarget } from '../../errors.js'
import { actorsOf, MAX_CHAIN_DEPTH, type ActClaim } from '../../delegation/act.js'
import { decideExchange } from '../../entitlements/exchange-entitlements.js'
import { InvalidGrant } from '../../federation/errors.js'
import { tokenDigest } from '../../keys/crypto.js'
import { signJwt } from '../../keys/keystore.js'
import { ExchangeStateLoader } from '../../store/delegations.js'
import type { Db } from '../../store/database.js'
import { checkAccessToken, evaluateAccessToken, preCheckAccessToken, type AccessTokenClaims, type ParsedAccessToken, type TokenCheck } from '../access-token.js'
import { authenticateCallerAndReadToken, type AuthenticatedClient, type ClientAuthContext, type PresentedCredentials } from '../client-auth.js'
import type { FormParams } from '../form.js'
import { uuidv7 } from '../jti.js'
import { parseScope } from '../scope.js'
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

/**
 * The actor's client authentication, exactly as every grant's (RFC 6749 §2.3), with the subject token's
 * session state read in the same grouped statement (store/clients.ts ClientLoader, as /introspect does):
 * one round trip for both, and the read still starts after the request arrived, so the check stays strict.
 * A subject token that cannot be looked up (absent, malformed, expired) adds nothing; the handler refuses it.
 */
export async function authenticate (ctx: ClientAuthContext, presented: PresentedCredentials | undefined, params: FormParams, sourceAddress?: string): Promise<AuthenticatedClient> {
  const parsed = params.subject_token === undefined ? undefined : preCheckAccessToken(params.subject_token, ctx.issuer)
  const ref = parsed === undefined || 'active' in parsed ? undefined : { jti: parsed.claims.jti, kid: parsed.header.kid as string }
  const auth = await authenticateCallerAndReadToken(ctx, presented, { sourceAddress, endpoint: '/token' }, ref)
  if (ref !== undefined) parsedSubjects.set(auth, parsed as ParsedAccessToken)
  return auth
}

// The subject token as parsed by authenticate, for the handler of the same request (parsed once, not twice).
const parsedSubjects = new WeakMap<AuthenticatedClient, ParsedAccessToken>()

/** The subject token's strict check (as /introspect's) from the state read with the actor's authentication. */
function checkSubjectToken (auth: AuthenticatedClient, token: string, issuer: string, nowS: number): TokenCheck {
  const parsed = parsedSubjects.get(auth) ?? preCheckAccessToken(token, issuer, nowS)
  if ('active' in parsed) return parsed
  if (parsed.claims.exp <= nowS) return { active: false, reason: 'expired' }
  return evaluateAccessToken(parsed, token, auth.session)
}

// One loader per database handle (per app), so concurrent exchanges share one round trip for their state.
const loaders = new WeakMap<Db, ExchangeStateLoader>()
function exchangeStates (db: Db): ExchangeStateLoader {
  let loader = loaders.get(db)
  if (loader === undefined) loaders.set(db, loader = new ExchangeStateLoader(db))
  return loader
}

export async function handler (ctx: GrantContext, request: GrantRequest): Promise<TokenResponse> {
  checkParameters(request)
  const { client: actor, credentialId, federated } = request.auth
  const requested = requestedResource(request)
  const requestedScopes = parseScope(request.params.scope)
  const now = Math.floor(Date.now() / 1000)

  // The same strict check as /introspect: exact bytes, epoch(s) current, identity active, not revoked, key kept.
  const subjectCheck = checkSubjectToken(request.auth, request.params.subject_token as string, ctx.config.issuer, now)
  const actorCheck = request.params.actor_token === undefined ? undefined : await checkAccessToken(ctx.db, request.params.actor_token, ctx.config.issuer, now)
  if (!subjectCheck.active) throw new InvalidGrant('subject_token is not an active access token')
  if (actorCheck !== undefined && (!actorCheck.active || actorCheck.claims.sub !== actor.id)) {
    throw new InvalidGrant('actor_token is not an active access token of the authenticated client')
  }
  const subjectToken = subjectCheck.claims
  const earlier = actorsOf(subjectToken.act)
  if (earlier.length + 1 > MAX_CHAIN_DEPTH) throw new InvalidGrant(`the delegation chain would be deeper than ${MAX_CHAIN_DEPTH}`)
  // docs/reference/delegation.md: the holder is the innermost-acting party — the current actor of a delegated token, else its sub.
  const holder = earlier[0]?.sub ?? subjectToken.sub

  const state = await exchangeStates(ctx.db).load({ subjectId: subjectToken.sub, holderId: holder, actorId: actor.id, subjectJti: subjectToken.jti })
  // The state is read after the subject token's check: a revoke-all (or any bump) of the subject committed in
  // between would otherwise let a token carrying the NEW epoch be minted from a token that is now stale. The
  // new token carries the epoch the subject token was checked under, and only while it is still current.
  if (state.subject === null || state.subject.status !== 'active' || state.subject.epoch !== subjectToken.epoch) {
    throw new InvalidGrant('subject_token is not an active access token')
  }
  const { config } = ctx
  const decision = decideExchange({
    entitlements: state.entitlements.map((e) => ({ resourceId: e.resource_id, resource: e.resource, scopes: e.scopes, conditions: e.conditions, expiresAtS: e.expires_at })),
    offered: state.offered,
    chainIds: state.chain_ids,
    chain: state.chain,
    requestedResource: requested,
    requestedScopes,
    // docs/reference/federation.md: a subject token minted from a platform's assertion keeps its live context down the chain.
    context: subjectToken.ctx,
    actorTtlS: actor.tokenTtlS,
    subjectTtlS: state.subject.token_ttl_s,
    defaultTtlS: config.tokenTtlDefaultS,
    maxTtlS: config.tokenTtlMaxS,
    subjectExpS: subjectToken.exp,
    ...(federated !== undefined && { notAfterS: federated.exp }),
    nowS: now
  })
  const exp = decision.expS

  // RFC 8693 §4.1: the current actor outermost, the subject token's own `act` nested inside it.
  const act: ActClaim = { sub: actor.id, client_id: actor.clientId, epoch: actor.epoch, ...(subjectToken.act !== undefined && { act: subjectToken.act }) }
  const claims: AccessTokenClaims = {
    iss: config.issuer,
    sub: state.subject.id,
    client_id: actor.clientId,
    aud: decision.resource,
    iat: now,
    exp,
    jti: uuidv7(),
    scope: decision.scopes.join(' '),
    epoch: subjectToken.epoch,
    entitlements: decision.entitlements,
    ...(subjectToken.ctx !== undefined && { ctx: subjectToken.ctx }),
    act
  }
  const key = ctx.keys.signingKey()
  const accessToken = signJwt(key, { typ: 'at+jwt' }, claims as unknown as Record<string, unknown>)
  const actors = actorsOf(act)
  // Durable before the token leaves, through the same group commit as every other grant's session.
  await ctx.sessions.write({
    jti: claims.jti,
    identity_id: claims.sub,
    epoch: claims.epoch,
    resource_id: decision.resourceId,
    scope: claims.scope,
    iat: new Date(now * 1000),
    exp: new Date(exp * 1000),
    credential_id: credentialId,
    token_hash: tokenDigest(accessToken),
    kid: key.kid,
    chain: {
      parent_jti: subjectToken.jti,
      actor_ids: actors.map((a) => a.sub),
      actor_epochs: actors.map((a) => a.epoch),
      delegation_ids: decision.delegationIds
    }
  })
  // RFC 8693 §2.2.1.
  return { access_token: accessToken, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: exp - now, scope: claims.scope }
}
