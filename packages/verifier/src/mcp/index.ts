/**
 * The MCP kit (docs/reference/mcp.md): what the MCP authorization spec asks of a resource server that trusts Tally —
 * RFC 9728 protected resource metadata, `WWW-Authenticate` challenges naming it, and an adapter for the
 * official SDK's `requireBearerAuth` that answers from Tally's epoch feed. Self-contained: it uses the
 * verifier's public API only, and the SDK (an optional peer dependency) only when the adapter is created.
 * @packageDocumentation
 */
export { protectedResourceMetadata, protectedResourceMetadataPath, protectedResourceMetadataUrl, type ProtectedResourceMetadata, type ProtectedResourceOptions } from './protected-resource.js'
export { insufficientScopeChallenge, unauthorizedChallenge, type ChallengeOptions } from './challenge.js'
export { authInfoOf, createMcpTokenVerifier, type McpAuthInfo, type McpTokenVerifier, type McpTokenVerifierOptions } from './token-verifier.js'
export { mcpBearerAuth, protectedResourceMetadataRoute, type McpBearerAuthOptions } from './fastify.js'
