// A fastify preHandler for resource servers (RFC 6750 §3): 401 with `WWW-Authenticate: Bearer
// error="invalid_token", error_description="<reason>"` for a token that is stale, revoked, expired or
// invalid — the client should fetch a new token — and 403 insufficient_scope. This file imports fastify's
// types only, so the verifier does not depend on fastify at run time.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AccessTokenClaims } from './claims.js'
import type { Verifier } from './index.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The claims of the request's verified Tally access token (set by `tallyAuth`). */
    tallyToken?: AccessTokenClaims
  }
}

export interface TallyAuthOptions {
  /** Scopes the route requires (all of them). */
  scopes?: string[]
  /** `realm` for WWW-Authenticate, if you want one. */
  realm?: string
}

const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i
// How long a client should wait when the verifier cannot vouch for its view (seconds).
const RETRY_AFTER_S = 1

/**
 * Returns a preHandler that admits a request only with an active Tally token carrying `scopes`.
 *
 * @example
 * ```ts
 * app.get('/orders', { preHandler: tallyAuth(verifier, { scopes: ['orders:read'] }) },
 *   async (request) => ({ caller: request.tallyToken?.client_id }))
 * ```
 */
export function tallyAuth (verifier: Verifier, options: TallyAuthOptions = {}) {
  const realm = options.realm === undefined ? '' : `realm="${options.realm}", `
  return async function checkTallyToken (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const match = BEARER.exec(request.headers.authorization ?? '')
    // RFC 6750 §3.1: a request without credentials gets no error code.
    if (match === null) {
      return await reply.code(401).header('www-authenticate', `Bearer${realm === '' ? '' : ' ' + realm.slice(0, -2)}`)
        .send({ error: 'invalid_token', error_description: 'a bearer token is required' })
    }
    const result = await verifier.verify(match[1] as string, { scopes: options.scopes })
    if (result.active) {
      request.tallyToken = result.claims
      return
    }
    if (result.reason === 'insufficient_scope') {
      const scope = (options.scopes ?? []).join(' ')
      return await reply.code(403).header('www-authenticate', `Bearer ${realm}error="insufficient_scope", scope="${scope}"`)
        .send({ error: 'insufficient_scope', error_description: `the request requires scope ${scope}` })
    }
    // The verifier cannot vouch for its view of revocations: a new token would not help, so 503.
    if (result.reason === 'feed_unavailable') {
      return await reply.code(503).header('retry-after', String(RETRY_AFTER_S))
        .send({ error: 'temporarily_unavailable', error_description: 'feed_unavailable' })
    }
    return await reply.code(401).header('www-authenticate', `Bearer ${realm}error="invalid_token", error_description="${result.reason}"`)
      .send({ error: 'invalid_token', error_description: result.reason })
  }
}
