// Workload federation's admin API (docs/reference/federation.md): /admin/trusts (trusted platform issuers) and
// POST /admin/identities/:id/federated (a federated credential; revoked with DELETE …/credentials/:cid).
// A trust change that could withhold access (JWKS, audience, claim mapping, lifetime), or its removal,
// bumps every identity federated on it in the same transaction as the change and its audit row.
import type { FastifyInstance } from 'fastify'
import { Conflict, InvalidRequest } from '../../errors.js'
import { isUniqueViolation } from '../../db-errors.js'
import { commitChange } from '../../entitlements/change.js'
import { narrowIdentitiesOfTrust, NARROWING_TRUST_FIELDS } from '../../entitlements/federation-narrowing.js'
import { fetchableUrl } from '../../federation/safe-fetch.js'
import { findFederatedCredential, findTrust, insertFederatedCredential, insertTrust, listTrusts, removeTrust, updateTrust, type TrustChange } from '../../store/trusts.js'
import { identityOr404, lockLiveIdentity, trustOr404 } from './lookups.js'
import { federatedBody, idParams, listQuery, pageLimit, trustCreateBody, trustPatchBody, uuidCursor } from './schemas.js'
import { credentialState, credentialView, pageOf, trustView } from './views.js'

const DEFAULT_MAX_ASSERTION_LIFETIME_S = 86_400 // 1 day

interface CreateBody { issuer: string, jwks_uri?: string, audience?: string, claims?: Record<string, string>, max_assertion_lifetime_s?: number, name?: string }
interface FederatedBody { issuer: string, subject: string, match?: Record<string, string> }

/** RFC 3986 §6.2.2–6.2.3 equivalence, enough to tell whether an issuer is Tally's own. */
function normalizedIssuer (value: string): string {
  try {
    const url = new URL(value)
    return url.href.replace(/\/$/, '')
  } catch {
    return value
  }
}

function checkJwksUri (value: string | null | undefined): void {
  if (value != null && fetchableUrl(value) === undefined) throw new InvalidRequest('jwks_uri must be an https URL (http only on a loopback host)')
}

function checkClaimPaths (claims: Record<string, string> | undefined): void {
  for (const [key, path] of Object.entries(claims ?? {})) {
    if (path.split('.').some((name) => name === '')) throw new InvalidRequest(`claims/${key.slice(0, 64)} must be a dot-separated claim path without empty names`)
  }
}

export default async function trustRoutes (app: FastifyInstance): Promise<void> {
  const { db, config } = app.tally

  app.post<{ Body: CreateBody }>('/trusts', {
    preHandler: app.requireAdmin('admin:write'), schema: { body: trustCreateBody }
  }, async function createTrust (request, reply) {
    const body = request.body
    // docs/reference/federation.md: never Tally's own ISSUER — a Tally token is never an assertion.
    if (normalizedIssuer(body.issuer) === normalizedIssuer(config.issuer)) throw new InvalidRequest('issuer must not be Tally\'s own ISSUER')
    checkJwksUri(body.jwks_uri)
    if (body.jwks_uri === undefined && fetchableUrl(body.issuer) === undefined) {
      throw new InvalidRequest('issuer must be an https URL for discovery, or jwks_uri must be given')
    }
    checkClaimPaths(body.claims)
    try {
      const view = await commitChange(db, request.admin.identityId, async (change) => {
        const row = await insertTrust(change.trx, {
          issuer: body.issuer,
          jwks_uri: body.jwks_uri ?? null,
          audience: body.audience ?? config.issuer,
          claims: body.claims ?? {},
          max_assertion_lifetime_s: body.max_assertion_lifetime_s ?? DEFAULT_MAX_ASSERTION_LIFETIME_S,
          name: body.name ?? null
        })
        const created = trustView(row)
        await change.audit({ action: 'trust.create', after: created })
        return created
      })
      return await reply.code(201).send(view)
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict('a trust for this issuer already exists')
      throw err
    }
  })

  app.get<{ Querystring: { limit?: string, cursor?: string } }>('/trusts', {
    preHandler: app.requireAdmin('admin:read'), schema: { querystring: listQuery }
  }, async function listAllTrusts (request) {
    const limit = pageLimit(request.query.limit)
    const { page, nextCursor } = pageOf(await listTrusts(db, limit + 1, uuidCursor(request.query.cursor)), limit, (r) => r.id)
    return { items: page.map(trustView), next_cursor: nextCursor }
  })

  app.get<{ Params: { id: string } }>('/trusts/:id', {
    preHandler: app.requireAdmin('admin:read'), schema: { params: idParams }
  }, async function readTrust (request) {
    return trustView(await trustOr404(db, request.params.id))
  })

  app.patch<{ Params: { id: string }, Body: TrustChange }>('/trusts/:id', {
    preHandler: app.requireAdmin('admin:write'), schema: { params: idParams, body: trustPatchBody }
  }, async function changeTrust (request) {
    const body = request.body ?? {}
    checkJwksUri(body.jwks_uri)
    checkClaimPaths(body.claims)
    return await commitChange(db, request.admin.identityId, async (change) => {
      const before = await trustOr404(change.trx, request.params.id, { forUpdate: true })
      if (body.jwks_uri === null && fetchableUrl(before.issuer) === undefined) {
        throw new InvalidRequest('jwks_uri is required: the issuer is not an https URL for discovery')
      }
      // Any change to how assertions are checked or mapped could withhold access someone holds: it narrows.
      const narrows = NARROWING_TRUST_FIELDS.some((field) =>
        body[field] !== undefined && JSON.stringify(body[field]) !== JSON.stringify(before[field]))
      if (narrows) await narrowIdentitiesOfTrust(change, before.id, 'trust_changed')
      const after = trustView(await updateTrust(change.trx, before.id, body))
      await change.audit({ action: 'trust.update', before: trustView(before), after })
      return after
    })
  })

  app.delete<{ Params: { id: string } }>('/trusts/:id', {
    preHandler: app.requireAdmin('admin:write'), schema: { params: idParams }
  }, async function deleteTrust (request, reply) {
    await commitChange(db, request.admin.identityId, async (change) => {
      const row = await trustOr404(change.trx, request.params.id, { forUpdate: true })
      // Narrow first: the identities are found through the credentials the removal then revokes.
      await narrowIdentitiesOfTrust(change, row.id, 'trust_removed')
      await removeTrust(change.trx, row.id)
      await change.audit({ action: 'trust.delete', before: trustView(row) })
    })
    return await reply.code(204).send()
  })

  app.post<{ Params: { id: string }, Body: FederatedBody }>('/identities/:id/federated', {
    preHandler: app.requireAdmin('admin:write'), schema: { params: idParams, body: federatedBody }
  }, async function createFederatedCredential (request, reply) {
    const { issuer, subject, match } = request.body
    for (const [key, value] of Object.entries(match ?? {})) {
      if (typeof value === 'string' && /[\u0000-\u001f\u007f]/.test(value)) throw new InvalidRequest(`match/${key.slice(0, 64)} must not contain control characters`)
      if (/[\u0000-\u001f\u007f]/.test(key)) throw new InvalidRequest('match keys must not contain control characters')
    }
    const found = await identityOr404(db, request.params.id)
    const view = await commitChange(db, request.admin.identityId, async (change) => {
      const trx = change.trx
      // Lock order (change.ts): the trust would come first, but an addition only reads it.
      const identity = await lockLiveIdentity(change, found)
      const trust = await findTrust(trx, issuer)
      if (trust === undefined || trust.issuer !== issuer) throw new InvalidRequest('issuer: no trust has this issuer')
      const normalizedMatch = match === undefined || Object.keys(match).length === 0 ? null : match
      if (await findFederatedCredential(trx, identity.id, trust.id, subject, normalizedMatch) !== undefined) {
        throw new Conflict('this identity already has this federated credential')
      }
      const row = await insertFederatedCredential(trx, { identityId: identity.id, trust, subject, match: normalizedMatch })
      await change.audit({ action: 'credential.create', identityId: identity.id, after: credentialState(row) })
      return credentialView(row, null)
    })
    return await reply.code(201).send(view)
  })
}
