// /admin/identities (SPEC §5): create, list, read (with entitlements and credentials), change, delete.
// Disabling and deleting narrow access, so they bump the epoch in the same transaction.
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { Conflict, InvalidRequest, NotFound } from '../../errors.js'
import { recordAudit } from '../../store/audit.js'
import type { Db, IdentityRow } from '../../store/database.js'
import { bumpEpoch } from '../../store/epochs.js'
import { findIdentity, isUuid } from '../../store/identities.js'
import { CLIENT_ID_PATTERN, KINDS, idParams, listQuery, metadata, pageLimit, shortText, ttl } from './schemas.js'
import { CREDENTIAL_COLUMNS, credentialView, entitlementView, identityView } from './views.js'
import { withCredentialUsage, withEntitlementUsage, withIdentityUsage } from './usage-views.js'

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

const isUniqueViolation = (err: unknown): boolean => (err as { code?: string }).code === '23505'

/** The identity named by :id, or 404; live only unless `includeDeleted`. */
export async function identityOr404 (db: Db, id: string, options: { forUpdate?: boolean, includeDeleted?: boolean } = {}): Promise<IdentityRow> {
  const row = await findIdentity(db, id, options)
  if (row === undefined || (row.status === 'deleted' && options.includeDeleted !== true)) throw new NotFound('identity not found')
  return row
}

export async function entitlementsOf (db: Db, identityId: string): Promise<Array<Record<string, unknown>>> {
  const rows = await db.selectFrom('entitlements as e').innerJoin('resources as r', 'r.id', 'e.resource_id')
    .select(['e.id', 'e.resource_id', 'r.identifier', 'e.scopes', 'e.conditions', 'e.expires_at', 'e.reason', 'e.granted_by', 'e.created_at'])
    .where('e.identity_id', '=', identityId).orderBy('e.created_at').orderBy('e.id').execute()
  return rows.map(entitlementView)
}

export default async function identityRoutes (app: FastifyInstance): Promise<void> {
  const { db } = app.tally

  app.post<{ Body: CreateBody }>('/identities', {
    preHandler: app.requireAdmin('admin:write'),
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['client_id', 'kind'],
        properties: { client_id: { type: 'string', pattern: CLIENT_ID_PATTERN }, kind: { type: 'string', enum: KINDS }, name: shortText, token_ttl_s: ttl, metadata }
      }
    }
  }, async function createIdentity (request, reply) {
    const body = request.body
    // A client_id in UUID form would be ambiguous wherever an identity is named by UUID or client_id.
    if (isUuid(body.client_id)) throw new InvalidRequest('client_id must not be in UUID form')
    checkMetadata(body.metadata)
    try {
      const view = await db.transaction().execute(async (trx) => {
        const row = await trx.insertInto('identities').values({
          client_id: body.client_id,
          kind: body.kind,
          name: body.name ?? null,
          token_ttl_s: body.token_ttl_s ?? null,
          metadata: JSON.stringify(body.metadata ?? {})
        }).returningAll().executeTakeFirstOrThrow()
        const created = identityView(row)
        await recordAudit(trx, { actor: request.admin.identityId, action: 'identity.create', identityId: row.id, after: created })
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
    const { kind, status, cursor } = request.query
    const limit = pageLimit(request.query.limit)
    let query = db.selectFrom('identities').selectAll().orderBy('id').limit(limit + 1)
    if (kind !== undefined) query = query.where('kind', '=', kind)
    if (status !== undefined) query = query.where('status', '=', status as IdentityRow['status'])
    if (cursor !== undefined) {
      if (!isUuid(cursor)) throw new InvalidRequest('cursor is malformed')
      query = query.where('id', '>', cursor)
    }
    const rows = await query.execute()
    const page = rows.slice(0, limit)
    return { items: await withIdentityUsage(db, page.map(identityView)), next_cursor: rows.length > limit ? page[page.length - 1]?.id ?? null : null }
  })

  app.get<{ Params: { id: string } }>('/identities/:id', {
    preHandler: app.requireAdmin('admin:read'), schema: { params: idParams }
  }, async function readIdentity (request) {
    const row = await identityOr404(db, request.params.id, { includeDeleted: true })
    const credentials = await db.selectFrom('credentials')
      .select(CREDENTIAL_COLUMNS)
      .where('identity_id', '=', row.id).orderBy('created_at').orderBy('id').execute()
    const [view] = await withIdentityUsage(db, [identityView(row)])
    return { ...view, entitlements: await withEntitlementUsage(db, await entitlementsOf(db, row.id)), credentials: await withCredentialUsage(db, credentials.map(credentialView)) }
  })

  app.patch<{ Params: { id: string }, Body: PatchBody }>('/identities/:id', {
    preHandler: app.requireAdmin('admin:write'),
    schema: {
      params: idParams,
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          status: { type: 'string', enum: ['active', 'disabled'] },
          name: { anyOf: [shortText, { type: 'null' }] },
          token_ttl_s: { anyOf: [ttl, { type: 'null' }] },
          metadata
        }
      }
    }
  }, async function changeIdentity (request) {
    const body = request.body
    checkMetadata(body.metadata)
    return await db.transaction().execute(async (trx) => {
      const row = await identityOr404(trx, request.params.id, { forUpdate: true })
      await trx.updateTable('identities').set({
        ...(body.status !== undefined && { status: body.status }),
        ...(body.name !== undefined && { name: body.name }),
        ...(body.token_ttl_s !== undefined && { token_ttl_s: body.token_ttl_s }),
        ...(body.metadata !== undefined && { metadata: JSON.stringify(body.metadata) }),
        updated_at: sql`now()`
      }).where('id', '=', row.id).execute()
      if (body.status === 'disabled' && row.status === 'active') await bumpEpoch(trx, row.id, 'identity_disabled')
      const updated = await trx.selectFrom('identities').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow()
      const after = identityView(updated)
      await recordAudit(trx, { actor: request.admin.identityId, action: 'identity.update', identityId: row.id, before: identityView(row), after })
      return after
    })
  })

  app.delete<{ Params: { id: string } }>('/identities/:id', {
    preHandler: app.requireAdmin('admin:write'), schema: { params: idParams }
  }, async function deleteIdentity (request, reply) {
    await db.transaction().execute(async (trx) => {
      const row = await identityOr404(trx, request.params.id, { forUpdate: true })
      await trx.updateTable('identities').set({ status: 'deleted', updated_at: sql`now()` }).where('id', '=', row.id).execute()
      await trx.updateTable('credentials').set({ revoked_at: sql`now()` }).where('identity_id', '=', row.id).where('revoked_at', 'is', null).execute()
      await trx.deleteFrom('resource_introspectors').where('identity_id', '=', row.id).execute()
      await bumpEpoch(trx, row.id, 'identity_deleted')
      await recordAudit(trx, { actor: request.admin.identityId, action: 'identity.delete', identityId: row.id, before: identityView(row) })
    })
    return await reply.code(204).send()
  })
}
