// RFC 7009 token revocation, with Tally's `identity` extension (docs/reference/endpoints.md): a client revokes its own
// tokens; an identity holding admin:revoke revokes any token, or every session of an identity by bumping
// its epoch. Nothing here answers before the change is committed: a 200 means the revocation is stored.
import { UnauthorizedClient, InvalidRequest } from '../errors.js'
import { commitChange } from '../entitlements/change.js'
import { revokeAllSessions } from '../entitlements/revoke-sessions.js'
import { digestsEqual, tokenDigest } from '../keys/crypto.js'
import { ADMIN_RESOURCE, heldScopes, type Client } from '../store/clients.js'
import type { Db } from '../store/database.js'
import { findIdentity } from '../store/identities.js'
import { findSession } from '../store/sessions.js'
import { parseAccessToken } from './access-token.js'

const mayRevokeAny = (caller: Client): boolean => heldScopes(caller, ADMIN_RESOURCE).has('admin:revoke')

/** RFC 7009 §2.2: unknown, malformed and expired tokens are "revoked" already — 200, nothing to do. */
export async function revokeToken (db: Db, issuer: string, caller: Client, token: string): Promise<void> {
  const parsed = parseAccessToken(token, issuer)
  if (parsed === undefined || parsed.claims.exp <= Math.floor(Date.now() / 1000)) return
  const session = await findSession(db, parsed.claims.jti)
  // The digest proves the presented bytes are the token Tally issued under this jti, not a forgery naming it.
  if (session === undefined || !digestsEqual(session.tokenHash, tokenDigest(token))) return
  // RFC 7009 §2.1: the server verifies that the token was issued to the client making the request.
  // A delegated token was issued to its actor (docs/reference/delegation.md): the outermost act.sub may revoke it too.
  if (session.identityId !== caller.id && parsed.claims.act?.sub !== caller.id && !mayRevokeAny(caller)) throw new UnauthorizedClient('the token was not issued to this client')
  if (session.revoked) return
  await commitChange(db, caller.id, async (change) => {
    if (await change.revokeToken(session)) {
      await change.audit({ action: 'token.revoke', identityId: session.identityId, after: { jti: session.jti } })
    }
  })
}

/** The `identity` extension: every session of one identity, by one epoch bump. Needs admin:revoke. */
export async function revokeIdentitySessions (db: Db, caller: Client, identity: string): Promise<void> {
  if (!mayRevokeAny(caller)) throw new UnauthorizedClient('revoking an identity\'s sessions requires admin:revoke')
  const target = await findIdentity(db, identity)
  const epoch = target === undefined || target.status === 'deleted' ? undefined : await revokeAllSessions(db, caller.id, target.id)
  if (epoch === undefined) throw new InvalidRequest('identity: unknown identity')
}
