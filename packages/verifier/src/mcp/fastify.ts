// Fastify pieces of the MCP kit: a route plugin serving the RFC 9728 metadata, and a preHandler with the
// challenges the MCP authorization spec asks for. fastify's types only: no run-time dependency on it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AccessTokenClaims, Verifier } from '../index.js'
import { insufficientScopeChallenge, unauthorizedChallenge } from './challenge.js'
import { protectedResourceMetadata, protectedResourceMetadataPath, protectedResourceMetadataUrl, type ProtectedResourceOptions } from './protected-resource.js'

/**
 * Serves `GET /.well-known/oauth-protected-resource[/<path>]` for `options.resource` (RFC 9728 §3).
 *
 * ```ts
 * await app.register(protectedResourceMetadataRoute, { resource, authorizationServers: [tallyIssuer], scopesSupported: ['tools:call'] })
 * ```
 */
export async function protectedResourceMetadataRoute (app: FastifyInstance, options: ProtectedResourceOptions): Promise<void> {
  const document = protectedResourceMetadata(options)
  app.get(protectedResourceMetadataPath(options.resource), async function protectedResourceMetadataDocument (_request, reply) {
    // RFC 9728 §3.2: a JSON document; it changes rarely, so clients may cache it briefly.
    reply.header('cache-control', 'public, max-age=300')
    return document
  })
}

export interface McpBearerAuthOptions {
  /** The resource identifier as registered in Tally (the verifier's `audience`). */
  resource: string
  /** Scopes the route requires (all of them). */
  scopes?: string[]
}

const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i
const RETRY_AFTER_S = 1

/**
 * A preHandler admitting only an active Tally token (with `scopes`): 401 with `resource_metadata` in the
 * challenge, 403 `insufficient_scope`, 503 + Retry-After when the verifier's feed view is too old.
 * The claims land on `request.tallyToken`, as with `tallyAuth`.
 */
export function mcpBearerAuth (verifier: Verifier, options: McpBearerAuthOptions) {
  const challengeOptions = { resourceMetadataUrl: protectedResourceMetadataUrl(options.resource), scopes: options.scopes }
  return async function checkMcpBearer (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const match = BEARER.exec(request.headers.authorization ?? '')
    if (match === null) {
      return await reply.code(401).header('www-authenticate', unauthorizedChallenge(challengeOptions))
        .send({ error: 'invalid_token', error_description: 'a bearer token is required' })
    }
    const result = await verifier.verify(match[1] as string, { scopes: options.scopes })
    if (result.active) {
      (request as FastifyRequest & { tallyToken?: AccessTokenClaims }).tallyToken = result.claims
      return
    }
    if (result.reason === 'insufficient_scope') {
      const scopes = options.scopes ?? []
      return await reply.code(403).header('www-authenticate', insufficientScopeChallenge({ ...challengeOptions, scopes }))
        .send({ error: 'insufficient_scope', error_description: `the request requires scope ${scopes.join(' ')}` })
    }
    if (result.reason === 'feed_unavailable') {
      return await reply.code(503).header('retry-after', String(RETRY_AFTER_S))
        .send({ error: 'temporarily_unavailable', error_description: 'feed_unavailable' })
    }
    return await reply.code(401).header('www-authenticate', unauthorizedChallenge(challengeOptions, { description: result.reason }))
      .send({ error: 'invalid_token', error_description: result.reason })
  }
}
