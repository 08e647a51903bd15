// RFC 7662 §2.2 token introspection. Everything that is not an active token this caller may see is exactly
// {"active": false}: the response never says why, so it leaks nothing about tokens of other audiences.
// One round trip: the token's session state is read in the same statement that loads the caller.
import { ADMIN_RESOURCE, heldScopes, type Client, type SessionState, type TokenRef } from '../store/clients.js'
import { evaluateAccessToken, preCheckAccessToken, type TokenCheck, type ParsedAccessToken, type InactiveReason } from './access-token.js'

export type IntrospectionResponse = { active: false } | ({ active: true, token_type: 'Bearer' } & Record<string, unknown>)

/** Admins (admin:read) may introspect any token; an introspector only tokens for its resources. */
function mayIntrospect (caller: Client, audience: string): boolean {
  return caller.introspects.includes(audience) || heldScopes(caller, ADMIN_RESOURCE).has('admin:read')
}

export interface PreparedIntrospection {
  token: string
  parsed: ParsedAccessToken | { active: false, reason: InactiveReason }
  /** The session to read with the caller, when the token needs the store at all. */
  ref: TokenRef | undefined
}

export function prepareIntrospection (token: string, issuer: string): PreparedIntrospection {
  const parsed = preCheckAccessToken(token, issuer)
  return { token, parsed, ref: 'active' in parsed ? undefined : { jti: parsed.claims.jti, kid: parsed.header.kid as string } }
}

export function introspectionResponse (caller: Client, prepared: PreparedIntrospection, state: SessionState | null | undefined): IntrospectionResponse {
  const result: TokenCheck = 'active' in prepared.parsed
    ? prepared.parsed
    : evaluateAccessToken(prepared.parsed, prepared.token, state)
  if (!result.active || !mayIntrospect(caller, result.claims.aud)) return { active: false }
  const c = result.claims
  return {
    active: true,
    iss: c.iss,
    sub: c.sub,
    client_id: c.client_id,
    aud: c.aud,
    scope: c.scope,
    exp: c.exp,
    iat: c.iat,
    jti: c.jti,
    token_type: 'Bearer',
    epoch: c.epoch,
    entitlements: c.entitlements,
    ...(c.ctx !== undefined && { ctx: c.ctx }),
    ...(c.act !== undefined && { act: c.act })
  }
}
