// POST /introspect (RFC 7662 §2): form checks, then caller authentication, then the token — the caller
// and the token's session state are read in one database round trip.
import type { FastifyInstance } from 'fastify'
import { InvalidRequest } from '../errors.js'
import { authenticateCallerAndReadToken, presentedCredentials } from '../oauth/client-auth.js'
import { introspectionResponse, prepareIntrospection } from '../oauth/introspection.js'
import { requireForm } from '../plugins/form-body.js'

export default async function introspectRoute (app: FastifyInstance): Promise<void> {
  app.post('/introspect', { preHandler: requireForm }, async function introspection (request) {
    const { params } = request.form
    const presented = presentedCredentials(request.headers.authorization, params)
    // RFC 7662 §2.1: token REQUIRED; token_type_hint OPTIONAL and never trusted here.
    const prepared = params.token === undefined ? undefined : prepareIntrospection(params.token, app.tally.config.issuer)
    const { client, session } = await authenticateCallerAndReadToken(app.tally.clientAuth, presented, { sourceAddress: request.ip, endpoint: '/introspect' }, prepared?.ref)
    if (prepared === undefined) throw new InvalidRequest('token is required')
    const response = introspectionResponse(client, prepared, session)
    app.metrics.introspections.inc({ outcome: response.active ? 'active' : 'inactive' })
    return response
  })
}
