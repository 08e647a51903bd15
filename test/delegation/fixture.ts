// Shared steps of the delegation tests: a resource, a subject entitled to it, two actors (agents) with
// secrets, the delegations between them, and the token exchange itself, all through the public API.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { adminCall, basic, form, FORM_TYPE } from '../helper.js'
import { createClient, createResource, expectStatus, type TestClient } from '../support/admin.js'

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'

export interface Chain { resource: string, subject: TestClient, a: TestClient, b: TestClient, rs: TestClient, ab: any, sa: any }

/** subject —(read write)→ a —(read)→ b on one resource; rs is the resource's introspector. */
export async function chainFixture (app: FastifyInstance, admin: string): Promise<Chain> {
  const rs = await createClient(app, admin, { kind: 'resource_server' })
  const { identifier: resource } = await createResource(app, admin, { scopes: ['read', 'write', 'admin'], introspectors: [rs.clientId] })
  const subject = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read', 'write'] }] })
  const a = await createClient(app, admin, { kind: 'agent' })
  const b = await createClient(app, admin, { kind: 'agent' })
  const sa = await delegate(app, admin, subject, a, { resource, scopes: ['read', 'write'] })
  const ab = await delegate(app, admin, a, b, { resource, scopes: ['read'] })
  return { resource, subject, a, b, rs, sa, ab }
}

export async function delegate (app: FastifyInstance, admin: string, from: TestClient, to: TestClient, body: Record<string, unknown>): Promise<any> {
  return expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${from.id}/delegations`, { actor: to.clientId, ...body }))
}

export async function exchange (app: FastifyInstance, actor: TestClient, subjectToken: string, params: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await app.inject({
    method: 'POST',
    url: '/token',
    headers: { authorization: basic(actor.clientId, actor.secret), 'content-type': FORM_TYPE },
    payload: form({ grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE, ...params })
  })
}

export async function exchanged (app: FastifyInstance, actor: TestClient, subjectToken: string, params: Record<string, string> = {}): Promise<string> {
  return expectStatus(await exchange(app, actor, subjectToken, params), 200).access_token
}
