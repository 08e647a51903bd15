// POST /introspect (RFC 7662 §2): form checks, then caller authentication, then the token.
import type { FastifyInstance } from 'fastify'
import { InvalidRequest } from '../errors.js'
import { authenticateClient, presentedCredentials } from '../oauth/client-auth.js'
import { introspect } from '../oauth/introspection.js'
import { requireForm } from '../plugins/form-body.js'

export default async function introspectRoute (app: FastifyInstance): Promise<void> {
  app.post('/introspect', { preHandler: requireForm }, async function introspection (request) {
    const { params } = request.form
    const presented = presentedCredentials(request.headers.authorization, params)
    const { client } = await authenticateClient(app.tally.clientAuth, presented, request.ip)
    // RFC 7662 §2.1: token REQUIRED; token_type_hint OPTIONAL and never trusted here.
    if (params.token === undefined) throw new InvalidRequest('token is required')
    const response = await introspect(app.tally.db, app.tally.config.issuer, client, params.token)
    app.metrics.introspections.inc({ outcome: response.active ? 'active' : 'inactive' })
    return response
  })
}
