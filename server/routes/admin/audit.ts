// GET /admin/audit (docs/reference/admin-api.md): the append-only log, oldest first, paged by id with `after`.
import type { FastifyInstance } from 'fastify'
import { InvalidRequest } from '../../errors.js'
import { readAuditPage } from '../../store/audit.js'
import { findIdentity } from '../../store/identities.js'
import { pageLimit } from './schemas.js'
import { iso, pageOf } from './views.js'

export default async function auditRoutes (app: FastifyInstance): Promise<void> {
  const { db } = app.tally
  app.get<{ Querystring: { identity?: string, after?: string, limit?: string } }>('/audit', {
    preHandler: app.requireAdmin('admin:read'),
    schema: {
      querystring: {
        type: 'object',
        properties: {
          identity: { type: 'string', minLength: 1, maxLength: 128 },
          after: { type: 'string', pattern: '^[0-9]{1,18}$' },
          limit: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' }
        }
      }
    }
  }, async function listAudit (request) {
    const limit = pageLimit(request.query.limit, 100, 500)
    let identityId: string | undefined
    if (request.query.identity !== undefined) {
      const identity = await findIdentity(db, request.query.identity)
      if (identity === undefined) throw new InvalidRequest('identity: unknown identity')
      identityId = identity.id
    }
    const { page, nextCursor } = pageOf(await readAuditPage(db, { identityId, afterId: request.query.after, limit }), limit, (e) => String(e.id))
    return {
      items: page.map((e) => ({
        id: Number(e.id), at: iso(e.at), actor: e.actor, action: e.action, identity: e.identity_id, before: e.before, after: e.after
      })),
      next_cursor: nextCursor
    }
  })
}
