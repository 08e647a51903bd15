// The authorization endpoint (RFC 6749 §3.1) that Tally publishes only because RFC 8414 metadata
// consumers such as the MCP SDK require the field: Tally has no end user and issues no authorization codes
// or implicit tokens, so every request — any method, any parameters — gets an error and never a code.
// RFC 6749 §4.1.2.1: without a redirection URI registered for the client the server MUST NOT redirect,
// and Tally registers none, so the error is answered directly (400, JSON), never as a redirect.
// `response_types_supported` is `[]` in the metadata accordingly (decisions.md).
import type { FastifyInstance, FastifyReply } from 'fastify'

const ERROR = {
  error: 'unsupported_response_type',
  error_description: 'Tally issues tokens only at the token endpoint (client credentials, JWT bearer, token exchange); it has no authorization endpoint flows'
}

export default async function authorizeRoute (app: FastifyInstance): Promise<void> {
  // Any body is accepted unparsed: what it says cannot change the answer, and a 415 would be less clear.
  app.addContentTypeParser('*', { bodyLimit: 65_536 }, (_request, _payload, done) => { done(null, undefined) })
  const answer = async (_request: unknown, reply: FastifyReply): Promise<typeof ERROR> => {
    reply.code(400).header('cache-control', 'no-store').header('pragma', 'no-cache')
    return ERROR
  }
  app.route({ method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], url: '/authorize', schema: { hide: true }, handler: answer })
}
