// Sessions of an identity (docs/reference/admin-api.md): revoke them all with one epoch bump, or list the unexpired ones,
// marking each revoked (its jti) or stale (minted before the current epoch).
import type { FastifyInstance } from 'fastify'
import { InvalidRequest, NotFound } from '../../errors.js'
import { revokeAllSessions } from '../../entitlements/revoke-sessions.js'
import { isUuid } from '../../store/identities.js'
import { listLiveSessions } from '../../store/sessions.js'
import { identityOr404 } from './lookups.js'
import { idParams, listQuery, pageLimit, shortText } from './schemas.js'
import { iso } from './views.js'

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
    // A jti is a UUID: anything else (36 dashes included) is refused before SQL (issue 9 finding 9).
    if (request.query.cursor !== undefined && !isUuid(request.query.cursor)) throw new InvalidRequest('cursor is malformed')
    const rows = await listLiveSessions(db, identity.id, request.query.cursor, limit)
    const page = rows.slice(0, limit)
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
        stale: s.epoch < identity.epoch || identity.status !== 'active'
      })),
      next_cursor: rows.length > limit ? page[page.length - 1]?.jti ?? null : null
    }
  })
}
