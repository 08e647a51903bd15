// RFC 8414 authorization server metadata: lists only what really works. `authorization_endpoint` and
// `response_types_supported` are there because the MCP SDK's schema requires both (docs/reference/mcp.md): the endpoint
// answers every request with an RFC 6749 error (routes/authorize.ts), and the list of response types it
// supports is honestly empty.
import type { FastifyInstance } from 'fastify'
import { AUTH_METHODS } from '../oauth/client-auth.js'
import { ASSERTION_ALGORITHMS } from '../oauth/client-assertion.js'
import { grants } from '../oauth/grants/index.js'
import { ADMIN_SCOPES } from '../bootstrap.js'

export default async function metadataRoute (app: FastifyInstance): Promise<void> {
  const { issuer } = app.tally.config
  const metadata = {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    introspection_endpoint: `${issuer}/introspect`,
    revocation_endpoint: `${issuer}/revoke`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    epochs_endpoint: `${issuer}/epochs`,
    grant_types_supported: Object.keys(grants),
    response_types_supported: [],
    token_endpoint_auth_methods_supported: AUTH_METHODS,
    token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    introspection_endpoint_auth_methods_supported: AUTH_METHODS,
    introspection_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    revocation_endpoint_auth_methods_supported: AUTH_METHODS,
    revocation_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    scopes_supported: ADMIN_SCOPES,
    access_token_signing_alg_values_supported: ['ES256']
  }
  app.get('/.well-known/oauth-authorization-server', async function authorizationServerMetadata (_request, reply) {
    reply.header('cache-control', 'public, max-age=300').removeHeader('pragma')
    return metadata
  })
}
