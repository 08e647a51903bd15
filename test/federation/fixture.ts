// Shared steps of the federation tests, all through the admin API: a trust, a workload identity with no
// secret at all, its federated credential and its entitlements.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { adminCall, form, FORM_TYPE, uniqueId } from '../helper.js'
import { type EntitlementSpec, expectStatus } from '../support/admin.js'

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

export async function createTrust (app: FastifyInstance, admin: string, body: Record<string, unknown>): Promise<any> {
  return expectStatus(await adminCall(app, admin, 'POST', '/admin/trusts', body))
}

export interface Workload { id: string, clientId: string, credentialId: string }

/** An identity with no secret and no key: only a federated credential. */
export async function createWorkload (app: FastifyInstance, admin: string, federated: { issuer: string, subject: string, match?: Record<string, string> }, entitlements: EntitlementSpec[] = [], clientId = uniqueId('wl')): Promise<Workload> {
  const identity = expectStatus(await adminCall(app, admin, 'POST', '/admin/identities', { client_id: clientId, kind: 'workload' }))
  const credential = expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${identity.id as string}/federated`, federated))
  for (const e of entitlements) expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${identity.id as string}/entitlements`, e))
  return { id: identity.id, clientId, credentialId: credential.id }
}

export async function jwtBearer (app: FastifyInstance, assertion: string, params: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/token', headers: { 'content-type': FORM_TYPE, ...headers }, payload: form({ grant_type: JWT_BEARER, assertion, ...params }) })
}

export async function introspect (app: FastifyInstance, authorization: string, token: string): Promise<any> {
  const res = await app.inject({ method: 'POST', url: '/introspect', headers: { authorization, 'content-type': FORM_TYPE }, payload: form({ token }) })
  return res.json()
}
