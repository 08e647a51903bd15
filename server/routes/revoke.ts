// POST /revoke (RFC 7009 §2): form checks, then caller authentication, then the revocation.
import type { FastifyInstance } from 'fastify'
import { InvalidRequest } from '../errors.js'
import { authenticateClient, presentedCredentials } from '../oauth/client-auth.js'
import { revokeIdentitySessions, revokeToken } from '../oauth/revocation.js'
import { requireForm } from '../plugins/form-body.js'

export default async function revokeRoute (app: FastifyInstance): Promise<void> {
  app.post('/revoke', { preHandler: requireForm }, async function revocation (request, reply) {
    const { params } = request.form
    const presented = presentedCredentials(request.headers.authorization, params)
    const { client } = await authenticateClient(app.tally.clientAuth, presented, { sourceAddress: request.ip, endpoint: '/revoke' })
    const { db, config } = app.tally
    if (params.identity !== undefined) {
      await revokeIdentitySessions(db, client, params.identity)
      app.metrics.revocations.inc({ kind: 'identity' })
    } else if (params.token !== undefined) {
      await revokeToken(db, config.issuer, client, params.token)
      app.metrics.revocations.inc({ kind: 'token' })
    } else {
      throw new InvalidRequest('token is required')
    }
    // RFC 7009 §2.2 asks for HTTP 200 and says nothing of the body: `{}` as JSON, which every common
    // client parses (simple-oauth2 fails on an empty body) — docs/reference/endpoints.md.
    return await reply.code(200).type('application/json').send({})
  })
}
