// Which entitlements a token request gets (docs/reference/endpoints.md /token; RFC 8707 resource indicators; RFC 6749 §3.3
// scope): the resource, the scopes, the entitlements the token carries (with their conditions) and its
// lifetime under every cap. Pure — inputs in, a decision out — so it is tested as a table; the grant
// handler signs and records what this decides.
import { InvalidTarget } from '../errors.js'
import { grantScopes, parseScope } from '../oauth/scope.js'
import type { TokenEntitlement } from 'tally-verifier'
import type { ClientEntitlement } from '../store/clients.js'
import { entitlementsForContext, type Context } from './context.js'
import { equivalentResource } from './resource-identifier.js'

/** One entitlement as the token carries it (RFC 9068 `entitlements` claim): the verifier's type, one source of truth. */
export type { TokenEntitlement }

export interface TokenRequestFacts {
  /** The identity's entitlements (ClientEntitlement.expiresAtS is in seconds since the Unix epoch). */
  entitlements: ClientEntitlement[]
  /** The one resource asked for (RFC 8707), if any. */
  requestedResource: string | undefined
  /** The `scope` parameter as sent (RFC 6749 §3.3); absent asks for every held scope. */
  scope: string | undefined
  /** The identity's own token_ttl_s, if set. */
  identityTtlS: number | null
  defaultTtlS: number
  maxTtlS: number
  nowS: number
  /** A federated assertion's live context (docs/reference/federation.md): only the entitlements whose conditions it satisfies. */
  context?: Context
  /** A hard upper bound on `exp` (a federated assertion's own `exp`), seconds since the Unix epoch. */
  notAfterS?: number
}

export interface TokenDecision {
  resource: string
  resourceId: string
  scopes: string[]
  entitlements: TokenEntitlement[]
  /** The ids of the entitlement records the token carries (recorded for the access review). */
  entitlementIds: string[]
  /** Seconds since the Unix epoch. */
  expS: number
}

/** What carrying an entitlement in a token needs to know of it (ClientEntitlement has it). */
export interface CarriedEntitlement {
  resource: string
  scopes: string[]
  conditions: Record<string, unknown> | null
  /** Seconds since the Unix epoch, or null for no expiry. */
  expiresAtS: number | null
}

/** The entitlements that back at least one granted scope: the ones a token records and carries. */
export function entitlementsBacking<E extends CarriedEntitlement> (entitlements: E[], granted: Set<string>): E[] {
  return entitlements.filter((e) => e.scopes.some((s) => granted.has(s)))
}

/**
 * The `entitlements` claim (docs/reference/access-token.md): each used entitlement with only its
 * granted scopes, its conditions (the resource server enforces them) and its expiry. Every grant builds the claim here.
 */
export function carriedEntitlements (used: CarriedEntitlement[], granted: Set<string>): TokenEntitlement[] {
  return used.map((e) => ({
    resource: e.resource,
    scopes: e.scopes.filter((s) => granted.has(s)),
    ...(e.conditions !== null && { conditions: e.conditions }),
    ...(e.expiresAtS !== null && { expires_at: e.expiresAtS })
  }))
}

function selectResource (entitlements: ClientEntitlement[], requested: string | undefined): string {
  const entitled = new Set(entitlements.map((e) => e.resource))
  if (requested !== undefined) {
    // Matched under RFC 3986 §6.2 equivalence; `aud` is the registered spelling.
    const registered = equivalentResource(entitled, requested)
    if (registered === undefined) throw new InvalidTarget('the client is not entitled to the requested resource')
    return registered
  }
  if (entitled.size === 0) throw new InvalidTarget('the client holds no entitlements')
  if (entitled.size > 1) throw new InvalidTarget('resource is required: the client is entitled to several resources')
  return entitled.values().next().value as string
}

/** Throws InvalidTarget (resource first), then InvalidScope, when the request asks for what the identity does not hold. */
export function decideTokenEntitlements (facts: TokenRequestFacts): TokenDecision {
  const { nowS } = facts
  // An entitlement expiring within this second cannot back a token that lives at least one second.
  const unexpired = facts.entitlements.filter((e) => e.expiresAtS === null || e.expiresAtS > nowS)
  const live = entitlementsForContext(unexpired, facts.context)
  const resource = selectResource(live, facts.requestedResource)
  const onResource = live.filter((e) => e.resource === resource)
  const scopes = grantScopes(parseScope(facts.scope), new Set(onResource.flatMap((e) => e.scopes)))
  const granted = new Set(scopes)

  const used = entitlementsBacking(onResource, granted)
  const entitlements = carriedEntitlements(used, granted)

  const first = onResource[0] as ClientEntitlement
  const ttlS = Math.min(facts.identityTtlS ?? facts.defaultTtlS, first.resourceMaxTtlS ?? Infinity, facts.maxTtlS)
  const expS = Math.min(nowS + ttlS, ...used.map((e) => e.expiresAtS ?? Infinity), facts.notAfterS ?? Infinity)
  return { resource, resourceId: first.resourceId, scopes, entitlements, entitlementIds: used.map((e) => e.id), expS }
}
