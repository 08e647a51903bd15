// Sessions of an identity (SPEC §5): revoke them all with one epoch bump, or list the unexpired ones,
// marking each revoked (its jti) or stale (minted before the current epoch).
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { recordAudit } from '../../store/audit.js'
import { bumpEpoch } from '../../store/epochs.js'
import { identityOr404 } from './identities.js'
import { idParams, listQuery, pageLimit, shortText } from './schemas.js'
import { iso } from './views.js'
import { InvalidRequest } from '../../errors.js'

export default async function sessionRoutes (app: FastifyInstance): Promise<void> {
  const { db } = app.tally

  app.post<{ Params: { id: string }, Body: { reason?: string } | undefined }>('/identities/:id/revoke-sessions', {
    preHandler: app.requireAdmin('admin:revoke'),
    schema: { params: idParams, body: { type: ['object', 'null'], additionalProperties: false, properties: { reason: shortText } } }
  }, async function revokeSessions (request) {
    return await db.transaction().execute(async (trx) => {
      const identity = await identityOr404(trx, request.params.id, { forUpdate: true })
      const epoch = await bumpEpoch(trx, identity.id, 'sessions_revoked')
      await recordAudit(trx, {
        actor: request.admin.identityId, action: 'sessions.revoke', identityId: identity.id,
        before: { epoch: identity.epoch }, after: { epoch, reason: request.body?.reason ?? null }
      })
      return { epoch }
    })
  })

  app.get<{ Params: { id: string }, Querystring: { limit?: string, cursor?: string } }>('/identities/:id/sessions', {
    preHandler: app.requireAdmin('admin:read'), schema: { params: idParams, querystring: listQuery }
  }, async function listSessions (request) {
    const identity = await identityOr404(db, request.params.id, { includeDeleted: true })
    const limit = pageLimit(request.query.limit, 100, 500)
    let query = db.selectFrom('sessions as s').innerJoin('resources as r', 'r.id', 's.resource_id')
      .select(['s.jti', 's.epoch', 'r.identifier', 's.scope', 's.iat', 's.exp', 's.credential_id', 's.revoked_at'])
      .where('s.identity_id', '=', identity.id).where('s.exp', '>', sql<Date>`now()`)
      .orderBy('s.jti').limit(limit + 1)
    if (request.query.cursor !== undefined) {
      if (!/^[0-9a-f-]{36}$/.test(request.query.cursor)) throw new InvalidRequest('cursor is malformed')
      query = query.where('s.jti', '>', request.query.cursor)
    }
    const rows = await query.execute()
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
