// /admin/resources (SPEC §5). Removing a scope from a resource narrows every identity entitled to it:
// the scope leaves their entitlements (an entitlement left with none is deleted) and each is bumped once.
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { Conflict, InvalidRequest, NotFound } from '../../errors.js'
import { recordAudit } from '../../store/audit.js'
import type { Db } from '../../store/database.js'
import { bumpEpoch } from '../../store/epochs.js'
import { findResource } from '../../store/resources.js'
import { resourceKey } from '../../entitlements/resource-identifier.js'
import { idParams, listQuery, pageLimit, scopeList, shortText, ttl } from './schemas.js'
import { resourceView } from './views.js'

interface ResourceBody { identifier: string, name?: string, scopes: string[], max_token_ttl_s?: number | null, introspectors?: string[] }

const resourceFields = {
  name: shortText,
  scopes: scopeList,
  max_token_ttl_s: { anyOf: [ttl, { type: 'null' }] },
  introspectors: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 128 }, maxItems: 100, uniqueItems: true }
}

// RFC 8707 §2: a resource indicator is an absolute URI without a fragment.
function checkIdentifier (identifier: string): void {
  let url: URL
  try { url = new URL(identifier) } catch { throw new InvalidRequest('identifier must be an absolute URI or URN') }
  if (url.hash !== '' || identifier.includes('#')) throw new InvalidRequest('identifier must not contain a fragment')
}

async function introspectorIds (db: Db, clientIds: string[]): Promise<string[]> {
  if (clientIds.length === 0) return []
  const rows = await db.selectFrom('identities').select(['id', 'client_id'])
    .where('client_id', 'in', clientIds).where('status', '<>', 'deleted').execute()
  const missing = clientIds.filter((c) => !rows.some((r) => r.client_id === c))
  if (missing.length > 0) throw new InvalidRequest(`introspectors: unknown client_id ${missing[0] as string}`)
  return rows.map((r) => r.id)
}

async function introspectorsOf (db: Db, resourceId: string): Promise<string[]> {
  const rows = await db.selectFrom('resource_introspectors as ri').innerJoin('identities as i', 'i.id', 'ri.identity_id')
    .select('i.client_id').where('ri.resource_id', '=', resourceId).orderBy('i.client_id').execute()
  return rows.map((r) => r.client_id)
}

export default async function resourceRoutes (app: FastifyInstance): Promise<void> {
  const { db } = app.tally

  app.post<{ Body: ResourceBody }>('/resources', {
    preHandler: app.requireAdmin('admin:write'),
    schema: { body: { type: 'object', additionalProperties: false, required: ['identifier', 'scopes'], properties: { identifier: { type: 'string', minLength: 1, maxLength: 512 }, ...resourceFields } } }
  }, async function createResource (request, reply) {
    const body = request.body
    checkIdentifier(body.identifier)
    const created = await db.transaction().execute(async (trx) => {
      const exists = await findResource(trx, body.identifier)
      if (exists !== undefined) throw new Conflict('a resource with this identifier exists')
      const row = await trx.insertInto('resources').values({
        identifier: body.identifier, identifier_key: resourceKey(body.identifier), name: body.name ?? null, scopes: body.scopes, max_token_ttl_s: body.max_token_ttl_s ?? null
      }).onConflict((oc) => oc.doNothing()).returningAll().executeTakeFirst()
      if (row === undefined) throw new Conflict('a resource with this identifier exists')
      const ids = await introspectorIds(trx, body.introspectors ?? [])
      if (ids.length > 0) await trx.insertInto('resource_introspectors').values(ids.map((id) => ({ resource_id: row.id, identity_id: id }))).execute()
      const view = resourceView(row, await introspectorsOf(trx, row.id))
      await recordAudit(trx, { actor: request.admin.identityId, action: 'resource.create', after: view })
      return view
    })
    return await reply.code(201).send(created)
  })

  app.get<{ Querystring: { limit?: string, cursor?: string } }>('/resources', {
    preHandler: app.requireAdmin('admin:read'), schema: { querystring: listQuery }
  }, async function listResources (request) {
    const limit = pageLimit(request.query.limit)
    let query = db.selectFrom('resources').selectAll().orderBy('identifier').limit(limit + 1)
    if (request.query.cursor !== undefined) query = query.where('identifier', '>', Buffer.from(request.query.cursor, 'base64url').toString('utf8'))
    const rows = await query.execute()
    const page = rows.slice(0, limit)
    const items = await Promise.all(page.map(async (r) => resourceView(r, await introspectorsOf(db, r.id))))
    const last = page[page.length - 1]
    return { items, next_cursor: rows.length > limit && last !== undefined ? Buffer.from(last.identifier).toString('base64url') : null }
  })

  app.get<{ Params: { id: string } }>('/resources/:id', {
    preHandler: app.requireAdmin('admin:read'), schema: { params: idParams }
  }, async function readResource (request) {
    const row = await findResource(db, request.params.id)
    if (row === undefined) throw new NotFound('resource not found')
    return resourceView(row, await introspectorsOf(db, row.id))
  })

  app.patch<{ Params: { id: string }, Body: Partial<ResourceBody> }>('/resources/:id', {
    preHandler: app.requireAdmin('admin:write'),
    schema: { params: idParams, body: { type: 'object', additionalProperties: false, properties: resourceFields } }
  }, async function changeResource (request) {
    const body = request.body
    return await db.transaction().execute(async (trx) => {
      const row = await findResource(trx, request.params.id, { forUpdate: true })
      if (row === undefined) throw new NotFound('resource not found')
      if (row.builtin) throw new InvalidRequest('the admin resource cannot be changed')
      const before = resourceView(row, await introspectorsOf(trx, row.id))
      if (body.scopes !== undefined) {
        const removed = row.scopes.filter((s) => !(body.scopes as string[]).includes(s))
        if (removed.length > 0) await removeScopes(trx, row.id, removed)
      }
      const updated = await trx.updateTable('resources').set({
        ...(body.name !== undefined && { name: body.name }),
        ...(body.scopes !== undefined && { scopes: body.scopes }),
        ...(body.max_token_ttl_s !== undefined && { max_token_ttl_s: body.max_token_ttl_s }),
        updated_at: sql`now()`
      }).where('id', '=', row.id).returningAll().executeTakeFirstOrThrow()
      if (body.introspectors !== undefined) {
        const ids = await introspectorIds(trx, body.introspectors)
        await trx.deleteFrom('resource_introspectors').where('resource_id', '=', row.id).execute()
        if (ids.length > 0) await trx.insertInto('resource_introspectors').values(ids.map((id) => ({ resource_id: row.id, identity_id: id }))).execute()
      }
      const after = resourceView(updated, await introspectorsOf(trx, row.id))
      await recordAudit(trx, { actor: request.admin.identityId, action: 'resource.update', before, after })
      return after
    })
  })
}

/** Takes scopes out of every entitlement on the resource, deletes emptied ones, and bumps each identity once. */
async function removeScopes (trx: Db, resourceId: string, removed: string[]): Promise<void> {
  const affected = await trx.selectFrom('entitlements').select(['id', 'identity_id', 'scopes'])
    .where('resource_id', '=', resourceId)
    .where(sql<boolean>`scopes && ${sql.val(removed)}::text[]`)
    .forUpdate().execute()
  const identities = new Set<string>()
  for (const e of affected) {
    const left = e.scopes.filter((s) => !removed.includes(s))
    if (left.length === 0) await trx.deleteFrom('entitlements').where('id', '=', e.id).execute()
    else await trx.updateTable('entitlements').set({ scopes: left, updated_at: sql`now()` }).where('id', '=', e.id).execute()
    identities.add(e.identity_id)
  }
  for (const identityId of [...identities].sort()) await bumpEpoch(trx, identityId, 'resource_scope_removed')
}
