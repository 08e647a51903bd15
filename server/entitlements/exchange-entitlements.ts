// What one RFC 8693 token exchange may carry (docs/reference/delegation.md, docs/decisions.md §32): the resource, the
// scopes = request ∩ the subject's live entitlements on the resource ∩ the holder→actor delegations on it ∩
// every earlier delegation of the chain, the entitlements the token carries and its lifetime under every
// cap. Pure — facts in, a decision out — so it is tested as a table; the grant reads the facts and signs.
import { InvalidScope, InvalidTarget } from '../errors.js'
import { InvalidGrant } from '../federation/errors.js'
import { grantScopes } from '../oauth/scope.js'
import type { LiveDelegation } from '../store/delegations.js'
import { entitlementsForContext, type Context } from './context.js'
import { carriedEntitlements, entitlementsBacking, type CarriedEntitlement, type TokenEntitlement } from './token-entitlements.js'

export interface SubjectEntitlement extends CarriedEntitlement { resourceId: string }

export interface ExchangeFacts {
  /** The subject's unexpired entitlements, every resource. */
  entitlements: SubjectEntitlement[]
  /** Delegations from the subject token's holder to the actor (unexpired when read). */
  offered: LiveDelegation[]
  /** How many delegations the subject token's chain recorded, and those of them that still exist. */
  chainIds: string[]
  chain: LiveDelegation[]
  /** The one resource asked for (RFC 8707 `resource` or RFC 8693 `audience`), if any. */
  requestedResource: string | undefined
  /** The parsed `scope` parameter; undefined asks for everything allowed. */
  requestedScopes: string[] | undefined
  /** The subject token's `ctx` (docs/reference/federation.md), carried on down the chain. */
  context: Context | undefined
  actorTtlS: number | null
  subjectTtlS: number | null
  defaultTtlS: number
  maxTtlS: number
  /** The subject token's `exp`, and a federated actor's assertion `exp` if any (seconds). */
  subjectExpS: number
  notAfterS?: number
  nowS: number
}

export interface ExchangeDecision {
  resource: string
  resourceId: string
  scopes: string[]
  entitlements: TokenEntitlement[]
  /** Every delegation the new token depends on (the contributing hops and the earlier chain), deduplicated. */
  delegationIds: string[]
  expS: number
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

/**
 * Throws InvalidGrant (a chain delegation gone, no delegation to this actor), InvalidTarget (resource),
 * then InvalidScope — in that order, as docs/reference/delegation.md lists them.
 */
export function decideExchange (facts: ExchangeFacts): ExchangeDecision {
  const { nowS } = facts
  const live = (d: { expires_at: number | null }): boolean => d.expires_at === null || d.expires_at > nowS
  const chain = facts.chain.filter(live)
  if (chain.length !== facts.chainIds.length) throw new InvalidGrant('a delegation earlier in the chain is no longer active')
  let offered = facts.offered.filter(live)
  if (offered.length === 0) throw new InvalidGrant('no active delegation from the subject token\'s holder to this client')
  // A chain stays on the resource its first hop was delegated for.
  const chainResource = chain[0]?.resource_id
  if (chainResource !== undefined) offered = offered.filter((d) => d.resource_id === chainResource)
  const resource = pickResource(offered, facts.requestedResource)
  offered = offered.filter((d) => d.resource === resource)

  const entitled = entitlementsForContext(facts.entitlements.filter((e) => e.resource === resource && (e.expiresAtS === null || e.expiresAtS > nowS)), facts.context)
  if (entitled.length === 0) throw new InvalidTarget('the subject holds no entitlement on the requested resource')
  const delegated = new Set(offered.flatMap((d) => d.scopes))
  const allowed = new Set([...new Set(entitled.flatMap((e) => e.scopes))]
    .filter((s) => delegated.has(s) && chain.every((d) => d.scopes.includes(s))))
  const scopes = grantScopes(facts.requestedScopes, allowed)
  if (scopes.length === 0) throw new InvalidScope('the delegation chain allows no scope on this resource')
  const granted = new Set(scopes)

  const used = entitlementsBacking(entitled, granted)
  const hops = [...offered.filter((d) => d.scopes.some((s) => granted.has(s))), ...chain]
  const ttl = Math.min(facts.actorTtlS ?? facts.defaultTtlS, facts.subjectTtlS ?? facts.defaultTtlS,
    offered[0]?.max_ttl ?? Infinity, facts.maxTtlS)
  const expS = Math.min(nowS + ttl, facts.subjectExpS, ...hops.map((d) => d.expires_at ?? Infinity),
    ...used.map((e) => e.expiresAtS ?? Infinity), facts.notAfterS ?? Infinity)
  return {
    resource,
    resourceId: (offered[0] as LiveDelegation).resource_id,
    scopes,
    entitlements: carriedEntitlements(used, granted),
    delegationIds: [...new Set(hops.map((d) => d.id))],
    expS
  }
}
