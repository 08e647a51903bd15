// /admin/identities (docs/reference/admin-api.md): create, list, read (with entitlements and credentials), change, delete.
// Disabling and deleting narrow access, so they bump the epoch in the same transaction.
import type { FastifyInstance } from 'fastify'
import { Conflict, InvalidRequest } from '../../errors.js'
import { isUniqueViolation } from '../../db-errors.js'
import { commitChange } from '../../entitlements/change.js'
import { credentialsOf } from '../../store/credentials.js'
import type { IdentityRow } from '../../store/database.js'
import { entitlementsOf } from '../../store/entitlements.js'
import { insertIdentity, isUuid, markIdentityDeleted, readIdentityPage, updateIdentity } from '../../store/identities.js'
import { identityOr404, lockLiveIdentity } from './lookups.js'
import { KINDS, identityCreateBody, identityPatchBody, idParams, listQuery, pageLimit, uuidCursor } from './schemas.js'
import { entitlementView, identityView, pageOf } from './views.js'
import { credentialViews, withEntitlementUsage, withIdentityUsage } from './usage-views.js'

interface CreateBody { client_id: string, kind: string, name?: string, token_ttl_s?: number, metadata?: Record<string, unknown> }
interface PatchBody { status?: 'active' | 'disabled', name?: string | null, token_ttl_s?: number | null, metadata?: Record<string, unknown> }

const MAX_METADATA_BYTES = 8192
const MAX_METADATA_DEPTH = 10

function depth (value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0
  let deepest = 0
  for (const child of Object.values(value)) deepest = Math.max(deepest, depth(child))
  return deepest + 1
}

function checkMetadata (value: Record<string, unknown> | undefined): void {
  if (value === undefined) return
  if (JSON.stringify(value).length > MAX_METADATA_BYTES) throw new InvalidRequest(`metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`)
  if (depth(value) > MAX_METADATA_DEPTH) throw new InvalidRequest(`metadata must nest at most ${MAX_METADATA_DEPTH} levels`)
}

export default async function identityRoutes (app: FastifyInstance): Promise<void> {
  const { db } = app.tally

  app.post<{ Body: CreateBody }>('/identities', {
    preHandler: app.requireAdmin('admin:write'), schema: { body: identityCreateBody }
  }, async function createIdentity (request, reply) {
    const body = request.body
    // A client_id in UUID form would be ambiguous wherever an identity is named by UUID or client_id.
    if (isUuid(body.client_id)) throw new InvalidRequest('client_id must not be in UUID form')
    checkMetadata(body.metadata)
    try {
      const view = await commitChange(db, request.admin.identityId, async (change) => {
        const row = await insertIdentity(change.trx, {
          clientId: body.client_id, kind: body.kind, name: body.name ?? null, tokenTtlS: body.token_ttl_s ?? null, metadata: body.metadata ?? {}
        })
        const created = identityView(row)
        await change.audit({ action: 'identity.create', identityId: row.id, after: created })
        return created
      })
      return await reply.code(201).send(view)
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict('client_id is already in use')
      throw err
    }
  })

  app.get<{ Querystring: { kind?: string, status?: string, limit?: string, cursor?: string } }>('/identities', {
    preHandler: app.requireAdmin('admin:read'),
    schema: {
      querystring: {
        type: 'object',
        properties: { ...listQuery.properties, kind: { type: 'string', enum: KINDS }, status: { type: 'string', enum: ['active', 'disabled', 'deleted'] } }
      }
    }
  }, async function listIdentities (request) {
    const { kind, status } = request.query
    const limit = pageLimit(request.query.limit)
    const rows = await readIdentityPage(db, { kind, status: status as IdentityRow['status'] | undefined, afterId: uuidCursor(request.query.cursor), limit })
    const { page, nextCursor } = pageOf(rows, limit, (r) => r.id)
    return { items: await withIdentityUsage(db, page.map(identityView)), next_cursor: nextCursor }
  })

  app.get<{ Params: { id: string } }>('/identities/:id', {
    preHandler: app.requireAdmin('admin:read'), schema: { params: idParams }
  }, async function readIdentity (request) {
    const row = await identityOr404(db, request.params.id, { includeDeleted: true })
    const [view] = await withIdentityUsage(db, [identityView(row)])
    return { ...view, entitlements: await withEntitlementUsage(db, (await entitlementsOf(db, row.id)).map(entitlementView)), credentials: await credentialViews(db, await credentialsOf(db, row.id)) }
  })

  app.patch<{ Params: { id: string }, Body: PatchBody }>('/identities/:id', {
    preHandler: app.requireAdmin('admin:write'), schema: { params: idParams, body: identityPatchBody }
  }, async function changeIdentity (request) {
    const body = request.body
    checkMetadata(body.metadata)
    return await commitChange(db, request.admin.identityId, async (change) => {
      const row = await lockLiveIdentity(change, await identityOr404(change.trx, request.params.id))
      let updated = await updateIdentity(change.trx, row.id, { status: body.status, name: body.name, tokenTtlS: body.token_ttl_s, metadata: body.metadata })
      if (body.status === 'disabled' && row.status === 'active') {
        const epoch = (await change.narrow([row.id], 'identity_disabled')).get(row.id) as number
        updated = { ...updated, epoch }
      }
      const after = identityView(updated)
      await change.audit({ action: 'identity.update', identityId: row.id, before: identityView(row), after })
      return after
    })
  })

  app.delete<{ Params: { id: string } }>('/identities/:id', {
    preHandler: app.requireAdmin('admin:write'), schema: { params: idParams }
  }, async function deleteIdentity (request, reply) {
    await commitChange(db, request.admin.identityId, async (change) => {
      const row = await lockLiveIdentity(change, await identityOr404(change.trx, request.params.id))
      await markIdentityDeleted(change.trx, row.id)
      await change.narrow([row.id], 'identity_deleted')
      await change.audit({ action: 'identity.delete', identityId: row.id, before: identityView(row) })
    })
    return await reply.code(204).send()
  })
}
