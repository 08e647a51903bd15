// Sessions of an identity (docs/reference/admin-api.md): revoke them all with one epoch bump, or list the unexpired ones,
// marking each revoked (its jti) or stale — by /introspect's own rule (sessionLapse): minted before the current
// epoch or the identity inactive, or, for a delegated token, any actor of its chain moved on, inactive or gone.
import type { FastifyInstance } from 'fastify'
import { NotFound } from '../../errors.js'
import { revokeAllSessions } from '../../entitlements/revoke-sessions.js'
import { sessionLapse } from '../../oauth/access-token.js'
import { listLiveSessions } from '../../store/sessions.js'
import { identityOr404 } from './lookups.js'
import { idParams, listQuery, pageLimit, shortText, uuidCursor } from './schemas.js'
import { iso, pageOf } from './views.js'

export default async function sessionRoutes (app: FastifyInstance): Promise<void> {
  const { db } = app.tally

  app.post<{ Params: { id: string }, Body: { reason?: string } | undefined }>('/identities/:id/revoke-sessions', {
    preHandler: app.requireAdmin('admin:revoke'),
    schema: { params: idParams, body: { type: ['object', 'null'], additionalProperties: false, properties: { reason: shortText } } }
  }, async function revokeSessions (request) {
    const identity = await identityOr404(db, request.params.id)
    const epoch = await revokeAllSessions(db, request.admin.identityId, identity.id, request.body?.reason ?? null)
    if (epoch === undefined) throw new NotFound('identity not found') // deleted meanwhile
    return { epoch }
  })

  app.get<{ Params: { id: string }, Querystring: { limit?: string, cursor?: string } }>('/identities/:id/sessions', {
    preHandler: app.requireAdmin('admin:read'), schema: { params: idParams, querystring: listQuery }
  }, async function listSessions (request) {
    const identity = await identityOr404(db, request.params.id, { includeDeleted: true })
    const limit = pageLimit(request.query.limit, 100, 500)
    // A jti is a UUID: anything else (36 dashes included) is refused before SQL.
    const { page, nextCursor } = pageOf(await listLiveSessions(db, identity.id, uuidCursor(request.query.cursor), limit), limit, (s) => s.jti)
    return {
      items: page.map((s) => ({
        jti: s.jti,
        epoch: s.epoch,
        resource: s.identifier,
        scope: s.scope,
        iat: iso(s.iat),
        exp: iso(s.exp),
        credential_id: s.credential_id,
        revoked: s.revoked_at !== null,
        stale: sessionLapse({ session_epoch: s.epoch, current_epoch: s.current_epoch, status: s.status, chain_live: s.chain_live }) !== undefined
      })),
      next_cursor: nextCursor
    }
  })
}
