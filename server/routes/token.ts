// POST /token (RFC 6749 §3.2). Order per docs/reference/endpoints.md: body checks, then client authentication, then the grant.
import type { FastifyInstance } from 'fastify'
import { UnsupportedGrantType, InvalidRequest } from '../errors.js'
import { authenticateClient, presentedCredentials } from '../oauth/client-auth.js'
import { grants } from '../oauth/grants/index.js'
import { requireForm } from '../plugins/form-body.js'

export default async function tokenRoute (app: FastifyInstance): Promise<void> {
  app.post('/token', { preHandler: requireForm }, async function token (request) {
    const { params, resources } = request.form
    const presented = presentedCredentials(request.headers.authorization, params)
    // RFC 6749 §4.4.2: grant_type REQUIRED.
    if (params.grant_type === undefined) throw new InvalidRequest('grant_type is required')
    const grant = grants[params.grant_type]
    const auth = grant?.authenticate !== undefined
      ? await grant.authenticate(app.tally.clientAuth, presented, params, request.ip)
      : await authenticateClient(app.tally.clientAuth, presented, { sourceAddress: request.ip, endpoint: '/token' })
    if (grant === undefined) throw new UnsupportedGrantType()
    const response = await grant.handler(app.tally, { auth, params, resources })
    app.metrics.tokensIssued.inc({ resource_kind: auth.client.kind })
    return response
  })
}
