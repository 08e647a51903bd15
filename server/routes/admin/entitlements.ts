// Entitlements (SPEC §5). Adding one never bumps; deleting one, or a replacement of the whole set that
// narrows anything, bumps the epoch once, in the same transaction as the change.
import type { FastifyInstance } from 'fastify'
import { InvalidRequest, NotFound } from '../../errors.js'
import { narrows, type Grant } from '../../entitlements/narrowing.js'
import { recordAudit } from '../../store/audit.js'
import type { Db, ResourceRow } from '../../store/database.js'
import { bumpEpoch } from '../../store/epochs.js'
import { findResource } from '../../store/resources.js'
import { restoreEntitlementUsage, snapshotEntitlementUsage } from '../../store/usage.js'
import { entitlementsOf, identityOr404 } from './identities.js'
import { entitlementBody, idAndChildParams, idParams } from './schemas.js'

interface EntitlementInput { resource: string, scopes: string[], conditions?: Record<string, unknown>, expires_at?: string, reason?: string }

interface ValidEntitlement { resource: ResourceRow, scopes: string[], conditions: Record<string, unknown> | null, expiresAt: Date | null, reason: string | null }

async function validate (db: Db, input: EntitlementInput, field: string): Promise<ValidEntitlement> {
  const resource = await findResource(db, input.resource)
  if (resource === undefined) throw new InvalidRequest(`${field}resource: unknown resource ${input.resource}`)
  const unknown = input.scopes.find((s) => !resource.scopes.includes(s))
  if (unknown !== undefined) throw new InvalidRequest(`${field}scopes: ${unknown} is not a scope of ${resource.identifier}`)
  let expiresAt: Date | null = null
  if (input.expires_at !== undefined) {
    expiresAt = new Date(input.expires_at)
    if (expiresAt.getTime() <= Date.now()) throw new InvalidRequest(`${field}expires_at must be in the future`)
  }
  const conditions = input.conditions !== undefined && Object.keys(input.conditions).length > 0 ? input.conditions : null
  return { resource, scopes: input.scopes, conditions, expiresAt, reason: input.reason ?? null }
}

async function currentGrants (db: Db, identityId: string): Promise<Grant[]> {
  const rows = await db.selectFrom('entitlements').select(['resource_id', 'scopes', 'conditions', 'expires_at'])
    .where('identity_id', '=', identityId).execute()
  return rows.map((r) => ({
    resourceId: r.resource_id, scopes: r.scopes, conditions: r.conditions as Record<string, unknown> | null, expiresAt: r.expires_at?.getTime() ?? null
  }))
}

async function insertEntitlement (trx: Db, identityId: string, e: ValidEntitlement, grantedBy: string): Promise<string> {
  const { id } = await trx.insertInto('entitlements').values({
    identity_id: identityId,
    resource_id: e.resource.id,
    scopes: e.scopes,
    conditions: e.conditions === null ? null : JSON.stringify(e.conditions),
    expires_at: e.expiresAt,
    reason: e.reason,
    granted_by: grantedBy
  }).returning('id').executeTakeFirstOrThrow()
  return id
}

export default async function entitlementRoutes (app: FastifyInstance): Promise<void> {
  const { db } = app.tally

  app.post<{ Params: { id: string }, Body: EntitlementInput }>('/identities/:id/entitlements', {
    preHandler: app.requireAdmin('admin:write'), schema: { params: idParams, body: entitlementBody }
  }, async function addEntitlement (request, reply) {
    const created = await db.transaction().execute(async (trx) => {
      const identity = await identityOr404(trx, request.params.id, { forUpdate: true })
      const valid = await validate(trx, request.body, '')
      const id = await insertEntitlement(trx, identity.id, valid, request.admin.identityId)
      const view = (await entitlementsOf(trx, identity.id)).find((e) => e.id === id) as Record<string, unknown>
      await recordAudit(trx, { actor: request.admin.identityId, action: 'entitlement.create', identityId: identity.id, after: view })
      return view
    })
    return await reply.code(201).send(created)
  })

  app.put<{ Params: { id: string }, Body: EntitlementInput[] }>('/identities/:id/entitlements', {
    preHandler: app.requireAdmin('admin:write'),
    schema: { params: idParams, body: { type: 'array', items: entitlementBody, maxItems: 200 } }
  }, async function replaceEntitlements (request) {
    return await db.transaction().execute(async (trx) => {
      const identity = await identityOr404(trx, request.params.id, { forUpdate: true })
      const valid: ValidEntitlement[] = []
      for (const [i, input] of request.body.entries()) valid.push(await validate(trx, input, `body/${i}/`))
      const before = await entitlementsOf(trx, identity.id)
      const beforeGrants = await currentGrants(trx, identity.id)
      const afterGrants: Grant[] = valid.map((v) => ({ resourceId: v.resource.id, scopes: v.scopes, conditions: v.conditions, expiresAt: v.expiresAt?.getTime() ?? null }))
      const usage = await snapshotEntitlementUsage(trx, identity.id)
      await trx.deleteFrom('entitlements').where('identity_id', '=', identity.id).execute()
      for (const v of valid) await insertEntitlement(trx, identity.id, v, request.admin.identityId)
      await restoreEntitlementUsage(trx, identity.id, usage)
      const epoch = narrows(beforeGrants, afterGrants) ? await bumpEpoch(trx, identity.id, 'entitlements_replaced') : identity.epoch
      const items = await entitlementsOf(trx, identity.id)
      await recordAudit(trx, { actor: request.admin.identityId, action: 'entitlements.replace', identityId: identity.id, before, after: items })
      return { items, epoch }
    })
  })

  app.delete<{ Params: { id: string, eid: string } }>('/identities/:id/entitlements/:eid', {
    preHandler: app.requireAdmin('admin:write'),
    schema: { params: idAndChildParams('eid') }
  }, async function deleteEntitlement (request, reply) {
    await db.transaction().execute(async (trx) => {
      const identity = await identityOr404(trx, request.params.id, { forUpdate: true })
      const before = (await entitlementsOf(trx, identity.id)).find((e) => e.id === request.params.eid)
      if (before === undefined) throw new NotFound('entitlement not found')
      await trx.deleteFrom('entitlements').where('id', '=', request.params.eid).execute()
      await bumpEpoch(trx, identity.id, 'entitlement_deleted')
      await recordAudit(trx, { actor: request.admin.identityId, action: 'entitlement.delete', identityId: identity.id, before })
    })
    return await reply.code(204).send()
  })
}

