// RFC 7662 §2.2 token introspection. Everything that is not an active token this caller may see is exactly
// {"active": false}: the response never says why, so it leaks nothing about tokens of other audiences.
import type { Db } from '../store/database.js'
import { ADMIN_RESOURCE, heldScopes, type Client } from '../store/clients.js'
import { checkAccessToken } from './access-token.js'

export type IntrospectionResponse = { active: false } | ({ active: true, token_type: 'Bearer' } & Record<string, unknown>)

/** Admins (admin:read) may introspect any token; an introspector only tokens for its resources. */
export function mayIntrospect (caller: Client, audience: string): boolean {
  return caller.introspects.includes(audience) || heldScopes(caller, ADMIN_RESOURCE).has('admin:read')
}

export async function introspect (db: Db, issuer: string, caller: Client, token: string): Promise<IntrospectionResponse> {
  const result = await checkAccessToken(db, token, issuer)
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
    entitlements: c.entitlements
  }
}
