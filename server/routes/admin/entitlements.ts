// Entitlements (docs/reference/admin-api.md). Adding one never bumps; deleting one, or a replacement of the whole set that
// narrows anything, bumps the epoch once — all through commitChange, which fixes the lock order: the
// resources FOR SHARE (a concurrent scope removal and this grant serialise), then the identity.
import type { FastifyInstance } from 'fastify'
import { NotFound } from '../../errors.js'
import { commitChange, type Change } from '../../entitlements/change.js'
import { checkHoldable, type EntitlementInput, type HoldableEntitlement } from '../../entitlements/holdable.js'
import { narrows, type Holding } from '../../entitlements/narrowing.js'
import type { Db, ResourceRow } from '../../store/database.js'
import {
  deleteEntitlement, deleteEntitlementsOf, entitlementResourceId, entitlementsOf, holdingsOf, insertEntitlement, type EntitlementWithResource, type NewEntitlement
} from '../../store/entitlements.js'
import { findResource } from '../../store/resources.js'
import { restoreEntitlementUsage, snapshotEntitlementUsage } from '../../store/usage.js'
import { identityOr404, lockLiveIdentity } from './lookups.js'
import { entitlementBody, idAndChildParams, idParams } from './schemas.js'
import { entitlementView } from './views.js'

/** Checks every input unlocked (for the first error, in input order), then again against the locked resources. */
async function checkLocked (db: Db, change: Change, inputs: EntitlementInput[], field: (i: number) => string): Promise<HoldableEntitlement[]> {
  const found: ResourceRow[] = []
  for (const [i, input] of inputs.entries()) {
    const resource = await findResource(db, input.resource)
    found.push(checkHoldable(input, resource, field(i)).resource)
  }
  const locked = new Map((await change.lockResources(found.map((r) => r.id), 'share')).map((r) => [r.id, r]))
  return inputs.map((input, i) => checkHoldable(input, locked.get((found[i] as ResourceRow).id), field(i)))
}

const toNew = (e: HoldableEntitlement, grantedBy: string): NewEntitlement =>
  ({ resourceId: e.resource.id, scopes: e.scopes, conditions: e.conditions, expiresAt: e.expiresAt, reason: e.reason, grantedBy })

export default async function entitlementRoutes (app: FastifyInstance): Promise<void> {
  const { db } = app.tally

  app.post<{ Params: { id: string }, Body: EntitlementInput }>('/identities/:id/entitlements', {
    preHandler: app.requireAdmin('admin:write'), schema: { params: idParams, body: entitlementBody }
  }, async function addEntitlement (request, reply) {
    const actor = request.admin.identityId
    const created = await commitChange(db, actor, async (change) => {
      const found = await identityOr404(change.trx, request.params.id)
      const [valid] = await checkLocked(change.trx, change, [request.body], () => '')
      const identity = await lockLiveIdentity(change, found)
      const id = await insertEntitlement(change.trx, identity.id, toNew(valid as HoldableEntitlement, actor))
      const view = entitlementView((await entitlementsOf(change.trx, identity.id)).find((e) => e.id === id) as EntitlementWithResource)
      await change.audit({ action: 'entitlement.create', identityId: identity.id, after: view })
      return view
    })
    return await reply.code(201).send(created)
  })

  app.put<{ Params: { id: string }, Body: EntitlementInput[] }>('/identities/:id/entitlements', {
    preHandler: app.requireAdmin('admin:write'),
    schema: { params: idParams, body: { type: 'array', items: entitlementBody, maxItems: 200 } }
  }, async function replaceEntitlements (request) {
    const actor = request.admin.identityId
    return await commitChange(db, actor, async (change) => {
      const found = await identityOr404(change.trx, request.params.id)
      const valid = await checkLocked(change.trx, change, request.body, (i) => `body/${i}/`)
      const identity = await lockLiveIdentity(change, found)
      const before = (await entitlementsOf(change.trx, identity.id)).map(entitlementView)
      const beforeHoldings = await holdingsOf(change.trx, identity.id)
      const afterHoldings: Holding[] = valid.map((v) => ({ resourceId: v.resource.id, scopes: v.scopes, conditions: v.conditions, expiresAtMs: v.expiresAt?.getTime() ?? null }))
      // Replacement gives every entitlement a new id: carry usage over (same resource and conditions).
      const usage = await snapshotEntitlementUsage(change.trx, identity.id)
      await deleteEntitlementsOf(change.trx, identity.id)
      for (const v of valid) await insertEntitlement(change.trx, identity.id, toNew(v, actor))
      await restoreEntitlementUsage(change.trx, identity.id, usage)
      const epoch = narrows(beforeHoldings, afterHoldings)
        ? (await change.narrow([identity.id], 'entitlements_replaced')).get(identity.id) as number
        : identity.epoch
      const items = (await entitlementsOf(change.trx, identity.id)).map(entitlementView)
      await change.audit({ action: 'entitlements.replace', identityId: identity.id, before, after: items })
      return { items, epoch }
    })
  })

  app.delete<{ Params: { id: string, eid: string } }>('/identities/:id/entitlements/:eid', {
    preHandler: app.requireAdmin('admin:write'),
    schema: { params: idAndChildParams('eid') }
  }, async function removeEntitlement (request, reply) {
    await commitChange(db, request.admin.identityId, async (change) => {
      const found = await identityOr404(change.trx, request.params.id)
      const resourceId = await entitlementResourceId(change.trx, found.id, request.params.eid)
      if (resourceId === undefined) throw new NotFound('entitlement not found')
      await change.lockResources([resourceId], 'share')
      const identity = await lockLiveIdentity(change, found)
      const before = (await entitlementsOf(change.trx, identity.id)).find((e) => e.id === request.params.eid)
      if (before === undefined || !await deleteEntitlement(change.trx, identity.id, request.params.eid)) throw new NotFound('entitlement not found')
      await change.narrow([identity.id], 'entitlement_deleted')
      await change.audit({ action: 'entitlement.delete', identityId: identity.id, before: entitlementView(before) })
    })
    return await reply.code(204).send()
  })
}
