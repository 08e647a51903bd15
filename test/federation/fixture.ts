// Shared steps of the federation tests, all through the admin API: a trust, a workload identity with no
// secret at all, its federated credential and its entitlements.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { adminCall, form, FORM_TYPE, uniqueId } from '../helper.js'
import { createClient, type EntitlementSpec, expectStatus } from '../support/admin.js'

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

export async function createTrust (app: FastifyInstance, admin: string, body: Record<string, unknown>): Promise<any> {
  return expectStatus(await adminCall(app, admin, 'POST', '/admin/trusts', body))
}

export interface Workload { id: string, clientId: string, credentialId: string }

/** An identity with no secret and no key: only a federated credential. */
export async function createWorkload (app: FastifyInstance, admin: string, federated: { issuer: string, subject: string, match?: Record<string, string> }, entitlements: EntitlementSpec[] = [], clientId = uniqueId('wl')): Promise<Workload> {
  const identity = await createClient(app, admin, { clientId, kind: 'workload', secret: false, entitlements })
  const credential = expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${identity.id}/federated`, federated))
  return { id: identity.id, clientId, credentialId: credential.id }
}

export async function jwtBearer (app: FastifyInstance, assertion: string, params: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/token', headers: { 'content-type': FORM_TYPE, ...headers }, payload: form({ grant_type: JWT_BEARER, assertion, ...params }) })
}
