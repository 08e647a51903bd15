// Delegations (docs/reference/delegation.md): /admin/identities/:id/delegations, where :id is the subject. Adding one never
// bumps; removing one, reducing its scopes or bringing its expiry forward bumps the ACTOR's epoch in the
// same transaction as the change and its audit row — all through commitChange, in its lock order: the
// resource FOR SHARE (when scopes are checked against it), then subject and actor together, then the row.
import type { FastifyInstance } from 'fastify'
import { InvalidRequest, NotFound } from '../../errors.js'
import { commitChange } from '../../entitlements/change.js'
import { narrowActorOfDelegation, delegationNarrows } from '../../entitlements/delegation-narrowing.js'
import { ADMIN_RESOURCE } from '../../store/clients.js'
import { deleteDelegation, insertDelegation, listDelegations, updateDelegation } from '../../store/delegations.js'
import { findIdentity } from '../../store/identities.js'
import { findResource } from '../../store/resources.js'
import { delegationOr404, identityOr404 } from './lookups.js'
import { grantScopes, idAndChildParams, idParams, listQuery, nullable, pageLimit, printable, shortText, timestamp } from './schemas.js'
import { delegationView, pageOf } from './views.js'

const name = printable(512)
// Postgres refuses NUL in text: refused here as a 400 naming the field, never a 5xx.
const reasonText = { ...shortText, pattern: '^[^\\u0000]*$' }

const createBody = {
  type: 'object',
  additionalProperties: false,
  required: ['actor', 'resource', 'scopes'],
  properties: { actor: name, resource: name, scopes: grantScopes, expires_at: timestamp, reason: reasonText }
}
const patchBody = {
  type: 'object',
  additionalProperties: false,
  properties: { scopes: grantScopes, expires_at: nullable(timestamp), reason: nullable(reasonText) }
}
const delegationListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    as: { type: 'string', enum: ['subject', 'actor'] },
    limit: listQuery.properties.limit,
    cursor: { type: 'string', format: 'uuid' }
  }
}

interface CreateBody { actor: string, resource: string, scopes: string[], expires_at?: string, reason?: string }
interface PatchBody { scopes?: string[], expires_at?: string | null, reason?: string | null }

function futureDate (value: string, field: string): Date {
  const at = new Date(value)
  if (Number.isNaN(at.getTime()) || at.getTime() <= Date.now()) throw new InvalidRequest(`${field} must be in the future`)
  return at
}

export default async function delegationRoutes (app: FastifyInstance): Promise<void> {
  const { db } = app.tally

  app.post<{ Params: { id: string }, Body: CreateBody }>('/identities/:id/delegations', {
    preHandler: app.requireAdmin('admin:write'), schema: { params: idParams, body: createBody }
  }, async function createDelegation (request, reply) {
    const body = request.body
    const found = await identityOr404(db, request.params.id)
    const created = await commitChange(db, request.admin.identityId, async (change) => {
      const trx = change.trx
      const unlocked = await findResource(trx, body.resource)
      if (unlocked === undefined) throw new InvalidRequest(`resource: unknown resource ${body.resource}`)
      const [resource] = await change.lockResources([unlocked.id], 'share')
      if (resource === undefined) throw new InvalidRequest(`resource: unknown resource ${body.resource}`)
      const foundActor = await findIdentity(trx, body.actor)
      if (foundActor === undefined || foundActor.status === 'deleted') throw new InvalidRequest('actor: unknown identity')
      if (foundActor.id === found.id) throw new InvalidRequest('actor: an identity cannot delegate to itself')
      const locked = await change.lockIdentities([found.id, foundActor.id])
      const subject = locked.find((r) => r.id === found.id)
      const actor = locked.find((r) => r.id === foundActor.id)
      if (subject === undefined || subject.status === 'deleted') throw new NotFound('identity not found')
      if (actor === undefined || actor.status === 'deleted') throw new InvalidRequest('actor: unknown identity')
      // The admin API's rights are never delegated: an actor would act as an admin without being one.
      if (resource.identifier === ADMIN_RESOURCE) throw new InvalidRequest('resource: urn:tally:admin cannot be delegated')
      const unknown = body.scopes.find((s) => !resource.scopes.includes(s))
      if (unknown !== undefined) throw new InvalidRequest(`scopes: ${unknown} is not a scope of ${resource.identifier}`)
      const expiresAt = body.expires_at === undefined ? null : futureDate(body.expires_at, 'expires_at')
      const id = await insertDelegation(trx, {
        subjectId: subject.id, actorId: actor.id, resourceId: resource.id, scopes: body.scopes, expiresAt, reason: body.reason ?? null, grantedBy: request.admin.identityId
      })
      const view = delegationView(await delegationOr404(trx, subject.id, id))
      await change.audit({ action: 'delegation.create', identityId: subject.id, after: view })
      return view
    })
    return await reply.code(201).send(created)
  })

  app.get<{ Params: { id: string }, Querystring: { as?: 'subject' | 'actor', limit?: string, cursor?: string } }>('/identities/:id/delegations', {
    preHandler: app.requireAdmin('admin:read'), schema: { params: idParams, querystring: delegationListQuery }
  }, async function listIdentityDelegations (request) {
    const identity = await identityOr404(db, request.params.id, { includeDeleted: true })
    const limit = pageLimit(request.query.limit)
    const rows = await listDelegations(db, identity.id, request.query.as ?? 'subject', limit + 1, request.query.cursor?.toLowerCase())
    const { page, nextCursor } = pageOf(rows, limit, (r) => r.id)
    return { items: page.map(delegationView), next_cursor: nextCursor }
  })

  app.get<{ Params: { id: string, did: string } }>('/identities/:id/delegations/:did', {
    preHandler: app.requireAdmin('admin:read'), schema: { params: idAndChildParams('did') }
  }, async function readDelegation (request) {
    const identity = await identityOr404(db, request.params.id, { includeDeleted: true })
    return delegationView(await delegationOr404(db, identity.id, request.params.did.toLowerCase()))
  })

  app.patch<{ Params: { id: string, did: string }, Body: PatchBody }>('/identities/:id/delegations/:did', {
    preHandler: app.requireAdmin('admin:write'), schema: { params: idAndChildParams('did'), body: patchBody }
  }, async function changeDelegation (request) {
    const body = request.body
    const subject = await identityOr404(db, request.params.id)
    const found = await delegationOr404(db, subject.id, request.params.did.toLowerCase())
    return await commitChange(db, request.admin.identityId, async (change) => {
      const trx = change.trx
      const [resource] = body.scopes !== undefined ? await change.lockResources([found.resource_id], 'share') : []
      await change.lockIdentities([subject.id, found.actor_id])
      const before = await delegationOr404(trx, subject.id, found.id, { forUpdate: true })
      if (body.scopes !== undefined) {
        const unknown = body.scopes.find((s) => resource?.scopes.includes(s) !== true)
        if (unknown !== undefined) throw new InvalidRequest(`scopes: ${unknown} is not a scope of ${before.resource}`)
      }
      const expiresAt = body.expires_at === undefined ? undefined : body.expires_at === null ? null : futureDate(body.expires_at, 'expires_at')
      await updateDelegation(trx, before.id, { scopes: body.scopes, expiresAt, reason: body.reason })
      const after = await delegationOr404(trx, subject.id, before.id)
      if (delegationNarrows({ scopes: before.scopes, expiresAt: before.expires_at }, { scopes: after.scopes, expiresAt: after.expires_at })) {
        await narrowActorOfDelegation(change, before.actor_id, 'delegation_narrowed')
      }
      const view = delegationView(after)
      await change.audit({ action: 'delegation.update', identityId: subject.id, before: delegationView(before), after: view })
      return view
    })
  })

  app.delete<{ Params: { id: string, did: string } }>('/identities/:id/delegations/:did', {
    preHandler: app.requireAdmin('admin:write'), schema: { params: idAndChildParams('did') }
  }, async function removeDelegation (request, reply) {
    const subject = await identityOr404(db, request.params.id)
    const found = await delegationOr404(db, subject.id, request.params.did.toLowerCase())
    await commitChange(db, request.admin.identityId, async (change) => {
      await change.lockIdentities([subject.id, found.actor_id])
      const before = await delegationOr404(change.trx, subject.id, found.id, { forUpdate: true })
      await deleteDelegation(change.trx, before.id)
      await narrowActorOfDelegation(change, before.actor_id, 'delegation_removed')
      await change.audit({ action: 'delegation.delete', identityId: subject.id, before: delegationView(before) })
    })
    return await reply.code(204).send()
  })
}

