// /admin/resources (docs/reference/admin-api.md). Removing a scope from a resource narrows every identity entitled to it:
// the scope leaves their entitlements (an entitlement left with none is deleted) and each is bumped once.
// Lock order (commitChange): the resource FOR UPDATE, then every identity the change touches (holders of a
// removed scope, old and new introspectors) in id order, then their entitlement rows.
import type { FastifyInstance } from 'fastify'
import { Conflict, InvalidRequest, NotFound } from '../../errors.js'
import { commitChange } from '../../entitlements/change.js'
import type { Db } from '../../store/database.js'
import { holdersOfScopes, removeScopesFromEntitlements } from '../../store/entitlements.js'
import { liveIdentityIds } from '../../store/identities.js'
import {
  findResource, insertResource, introspectorIdsOf, introspectorsOf, readResourcePage, replaceIntrospectors, updateResource
} from '../../store/resources.js'
import { idParams, listQuery, nullable, pageLimit, scopeList, shortText, ttl } from './schemas.js'
import { pageOf, resourceView } from './views.js'

interface ResourceBody { identifier: string, name?: string, scopes: string[], max_token_ttl_s?: number | null, introspectors?: string[] }

const resourceFields = {
  name: shortText,
  scopes: scopeList,
  max_token_ttl_s: nullable(ttl),
  introspectors: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 128 }, maxItems: 100, uniqueItems: true }
}

// RFC 8707 §2: a resource indicator is an absolute URI without a fragment.
function checkIdentifier (identifier: string): void {
  let url: URL
  try { url = new URL(identifier) } catch { throw new InvalidRequest('identifier must be an absolute URI or URN') }
  if (url.hash !== '' || identifier.includes('#')) throw new InvalidRequest('identifier must not contain a fragment')
}

async function introspectorIds (db: Db, clientIds: string[]): Promise<string[]> {
  const rows = await liveIdentityIds(db, clientIds)
  const missing = clientIds.filter((c) => !rows.some((r) => r.client_id === c))
  if (missing.length > 0) throw new InvalidRequest(`introspectors: unknown client_id ${missing[0] as string}`)
  return rows.map((r) => r.id)
}

/** The list cursor is the base64url of the last identifier; anything else is refused before SQL (issue 9 #9). */
function decodeCursor (cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined
  const identifier = Buffer.from(cursor, 'base64url').toString('utf8')
  if (identifier === '' || identifier.includes('\u0000') || Buffer.from(identifier).toString('base64url') !== cursor) throw new InvalidRequest('cursor is malformed')
  return identifier
}

export default async function resourceRoutes (app: FastifyInstance): Promise<void> {
  const { db } = app.tally

  app.post<{ Body: ResourceBody }>('/resources', {
    preHandler: app.requireAdmin('admin:write'),
    schema: { body: { type: 'object', additionalProperties: false, required: ['identifier', 'scopes'], properties: { identifier: { type: 'string', minLength: 1, maxLength: 512 }, ...resourceFields } } }
  }, async function createResource (request, reply) {
    const body = request.body
    checkIdentifier(body.identifier)
    const created = await commitChange(db, request.admin.identityId, async (change) => {
      if (await findResource(change.trx, body.identifier) !== undefined) throw new Conflict('a resource with this identifier exists')
      const ids = await introspectorIds(change.trx, body.introspectors ?? [])
      const row = await insertResource(change.trx, { identifier: body.identifier, name: body.name ?? null, scopes: body.scopes, maxTokenTtlS: body.max_token_ttl_s ?? null })
      if (row === undefined) throw new Conflict('a resource with this identifier exists')
      await change.lockIdentities(ids)
      await replaceIntrospectors(change.trx, row.id, ids)
      const view = resourceView(row, await introspectorsOf(change.trx, row.id))
      await change.audit({ action: 'resource.create', after: view })
      return view
    })
    return await reply.code(201).send(created)
  })

  app.get<{ Querystring: { limit?: string, cursor?: string } }>('/resources', {
    preHandler: app.requireAdmin('admin:read'), schema: { querystring: listQuery }
  }, async function listResources (request) {
    const limit = pageLimit(request.query.limit)
    const rows = await readResourcePage(db, decodeCursor(request.query.cursor), limit)
    const { page, nextCursor } = pageOf(rows, limit, (r) => Buffer.from(r.identifier).toString('base64url'))
    const items = await Promise.all(page.map(async (r) => resourceView(r, await introspectorsOf(db, r.id))))
    return { items, next_cursor: nextCursor }
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
    return await commitChange(db, request.admin.identityId, async (change) => {
      const found = await findResource(change.trx, request.params.id)
      if (found === undefined) throw new NotFound('resource not found')
      const [row] = await change.lockResources([found.id], 'update')
      if (row === undefined) throw new NotFound('resource not found')
      if (row.builtin) throw new InvalidRequest('the admin resource cannot be changed')
      const before = resourceView(row, await introspectorsOf(change.trx, row.id))
      const removed = body.scopes === undefined ? [] : row.scopes.filter((s) => !(body.scopes as string[]).includes(s))
      const newIntrospectors = body.introspectors === undefined ? undefined : await introspectorIds(change.trx, body.introspectors)
      // Every identity this change may write a row for, locked up front in id order (issue 9 finding 4).
      const holders = removed.length > 0 ? await holdersOfScopes(change.trx, row.id, removed) : []
      const oldIntrospectors = newIntrospectors === undefined ? [] : await introspectorIdsOf(change.trx, row.id)
      await change.lockIdentities([...holders, ...oldIntrospectors, ...(newIntrospectors ?? [])])
      if (removed.length > 0) {
        const narrowed = await removeScopesFromEntitlements(change.trx, row.id, removed)
        await change.narrow(narrowed, 'resource_scope_removed')
      }
      const updated = await updateResource(change.trx, row.id, { name: body.name, scopes: body.scopes, maxTokenTtlS: body.max_token_ttl_s })
      if (newIntrospectors !== undefined) await replaceIntrospectors(change.trx, row.id, newIntrospectors)
      const after = resourceView(updated, await introspectorsOf(change.trx, row.id))
      await change.audit({ action: 'resource.update', before, after })
      return after
    })
  })
}
