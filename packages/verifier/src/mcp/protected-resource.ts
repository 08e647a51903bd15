// RFC 9728 OAuth 2.0 Protected Resource Metadata for an MCP server (or any resource) that trusts Tally:
// the document, where it lives, and nothing framework-specific (docs/reference/mcp.md).

export interface ProtectedResourceOptions {
  /** The resource identifier, exactly as registered in Tally (the tokens' `aud`), e.g. `https://mcp.example.com/mcp`. */
  resource: string
  /** Tally's issuer identifier(s): where clients discover the authorization server (RFC 8414). */
  authorizationServers: string[]
  /** The scopes the resource defines (RFC 9728 §2 `scopes_supported`); MCP clients request these. */
  scopesSupported?: string[]
  /** A human-readable name (RFC 9728 `resource_name`). */
  resourceName?: string
  /** A URL of documentation for developers (RFC 9728 `resource_documentation`). */
  resourceDocumentation?: string
}

export interface ProtectedResourceMetadata {
  resource: string
  authorization_servers: string[]
  scopes_supported?: string[]
  bearer_methods_supported: string[]
  resource_name?: string
  resource_documentation?: string
}

/**
 * The RFC 9728 §2 document for `options.resource`. Tally tokens are bearer tokens sent in the
 * `Authorization` header only (RFC 6750 §2.1; no form body or query, which MCP forbids too).
 */
export function protectedResourceMetadata (options: ProtectedResourceOptions): ProtectedResourceMetadata {
  if (options.authorizationServers.length === 0) throw new Error('protectedResourceMetadata: authorizationServers is empty')
  return {
    resource: options.resource,
    authorization_servers: [...options.authorizationServers],
    ...(options.scopesSupported !== undefined && { scopes_supported: [...options.scopesSupported] }),
    bearer_methods_supported: ['header'],
    ...(options.resourceName !== undefined && { resource_name: options.resourceName }),
    ...(options.resourceDocumentation !== undefined && { resource_documentation: options.resourceDocumentation })
  }
}

/**
 * RFC 9728 §3.1: the well-known path of a resource's metadata, inserted between the host and the path
 * (`https://mcp.example.com/mcp` → `/.well-known/oauth-protected-resource/mcp`; no path → no suffix).
 */
export function protectedResourceMetadataPath (resource: string): string {
  const path = new URL(resource).pathname.replace(/\/$/, '')
  return `/.well-known/oauth-protected-resource${path}`
}

/** The absolute URL of the metadata: what `resource_metadata` in a `WWW-Authenticate` challenge names. */
export function protectedResourceMetadataUrl (resource: string): string {
  const url = new URL(resource)
  return `${url.origin}${protectedResourceMetadataPath(resource)}${url.search}`
}
