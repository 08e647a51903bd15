// `WWW-Authenticate` challenges for a resource protected by Tally (RFC 6750 §3, RFC 9728 §5.1), as the
// MCP authorization spec asks: every 401 names the protected resource metadata, a 403 says
// `insufficient_scope` and which scopes the request needs, so a client can get a better token.

export interface ChallengeOptions {
  /** The absolute URL of the resource's RFC 9728 metadata (protectedResourceMetadataUrl). */
  resourceMetadataUrl: string
  /** Scopes the request needs (RFC 6750 §3 `scope`). */
  scopes?: string[]
  /** `realm`, if you use one. */
  realm?: string
}

// RFC 7230 quoted-string: a backslash and a double quote are escaped; control characters are dropped.
function quoted (value: string): string {
  // eslint-disable-next-line no-control-regex
  return `"${value.replace(/[\u0000-\u001f\u007f]/g, '').replace(/["\\]/g, (c) => `\\${c}`)}"`
}

function challenge (parts: Array<[string, string | undefined]>): string {
  const params = parts.filter((p): p is [string, string] => p[1] !== undefined).map(([k, v]) => `${k}=${quoted(v)}`)
  return params.length === 0 ? 'Bearer' : `Bearer ${params.join(', ')}`
}

/**
 * 401: no token (RFC 6750 §3.1: then no error code), or a token refused — `invalid_token` with the
 * reason (stale, revoked, expired, invalid) as its description.
 */
export function unauthorizedChallenge (options: ChallengeOptions, refused?: { description: string }): string {
  const scope = options.scopes !== undefined && options.scopes.length > 0 ? options.scopes.join(' ') : undefined
  return challenge([
    ['realm', options.realm],
    ['error', refused === undefined ? undefined : 'invalid_token'],
    ['error_description', refused?.description],
    ['scope', scope],
    ['resource_metadata', options.resourceMetadataUrl]
  ])
}

/** 403: the token is good but lacks a scope the request needs (RFC 6750 §3.1 `insufficient_scope`). */
export function insufficientScopeChallenge (options: ChallengeOptions & { scopes: string[] }): string {
  return challenge([
    ['realm', options.realm],
    ['error', 'insufficient_scope'],
    ['error_description', `the request requires scope ${options.scopes.join(' ')}`],
    ['scope', options.scopes.join(' ')],
    ['resource_metadata', options.resourceMetadataUrl]
  ])
}
