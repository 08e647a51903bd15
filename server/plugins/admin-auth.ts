// Guards the admin API (docs/reference/admin-api.md) with Tally's own tokens for urn:tally:admin, checked by the same strict
// path as /introspect: revoking an admin's token or narrowing its entitlements takes effect at its next
// request. RFC 6750 §3.1: a missing or inactive token is 401 invalid_token; a missing scope 403.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { InsufficientScope, InvalidToken } from '../errors.js'
import { checkAccessToken } from '../oauth/access-token.js'
import { ADMIN_RESOURCE } from '../store/clients.js'

export type AdminScope = 'admin:read' | 'admin:write' | 'admin:revoke'

export interface AdminCaller {
  identityId: string
  clientId: string
  scopes: Set<string>
}

declare module 'fastify' {
  interface FastifyInstance {
    requireAdmin: (scope: AdminScope) => preHandlerAsyncHookHandler
  }
  interface FastifyRequest {
    admin: AdminCaller
  }
}

const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i

async function adminAuthPlugin (app: FastifyInstance): Promise<void> {
  app.decorateRequest('admin', null as unknown as AdminCaller)
  app.decorate('requireAdmin', function requireAdmin (scope: AdminScope): preHandlerAsyncHookHandler {
    return async function checkAdminToken (request: FastifyRequest) {
      const match = BEARER.exec(request.headers.authorization ?? '')
      if (match === null) throw new InvalidToken('a bearer token for urn:tally:admin is required', true)
      const result = await checkAccessToken(app.tally.db, match[1] as string, app.tally.config.issuer)
      if (!result.active || result.claims.aud !== ADMIN_RESOURCE) throw new InvalidToken()
      const scopes = new Set(result.claims.scope.split(' '))
      if (!scopes.has(scope)) throw new InsufficientScope(scope)
      request.admin = { identityId: result.claims.sub, clientId: result.claims.client_id, scopes }
    }
  })
}

export default fp(adminAuthPlugin, { name: 'admin-auth', dependencies: ['tally'] })
