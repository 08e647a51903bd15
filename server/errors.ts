// RFC 6749 §5.2 error responses. Each code has a class that fixes its status; error_description is short,
// lower-case and stable (tests compare it), and detail stays in `cause`, which only the logs see.

export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client'
  | 'unsupported_grant_type' | 'invalid_scope' | 'invalid_target' | 'invalid_token' | 'insufficient_scope'
  | 'not_found' | 'conflict' | 'temporarily_unavailable' | 'server_error'

export class OAuthError extends Error {
  readonly error: OAuthErrorCode
  readonly statusCode: number
  constructor (error: OAuthErrorCode, description: string, statusCode = 400, options?: { cause?: unknown }) {
    super(description, options)
    this.name = this.constructor.name
    this.error = error
    this.statusCode = statusCode
  }

  toJSON (): { error: OAuthErrorCode, error_description: string } {
    return { error: this.error, error_description: this.message }
  }
}

export class InvalidRequest extends OAuthError {
  constructor (description: string, options?: { cause?: unknown }) { super('invalid_request', description, 400, options) }
}

/**
 * Every client-authentication failure (unknown client, wrong, expired or revoked secret, bad assertion,
 * disabled identity) is this one error with this one description, so that the answer tells an attacker nothing.
 */
export class InvalidClient extends OAuthError {
  constructor (options?: { cause?: unknown }) { super('invalid_client', 'client authentication failed', 401, options) }
}

export class UnauthorizedClient extends OAuthError {
  constructor (description: string) { super('unauthorized_client', description, 400) }
}

export class UnsupportedGrantType extends OAuthError {
  constructor (description = 'grant_type is not supported') { super('unsupported_grant_type', description, 400) }
}

export class InvalidScope extends OAuthError {
  constructor (description = 'requested scope is not allowed') { super('invalid_scope', description, 400) }
}

export class InvalidTarget extends OAuthError {
  constructor (description: string) { super('invalid_target', description, 400) }
}

/** RFC 6750 §3.1: a bearer token that is missing, malformed, expired, revoked or stale. */
export class InvalidToken extends OAuthError {
  /** `missing`: the request carried no bearer token at all (RFC 6750 §3.1: then no error code in the challenge). */
  constructor (description = 'the access token is not active', readonly missing = false) { super('invalid_token', description, 401) }
}

/** RFC 6750 §3.1: the token is active but lacks a scope the request needs. */
export class InsufficientScope extends OAuthError {
  constructor (readonly scope: string) { super('insufficient_scope', `the request requires scope ${scope}`, 403) }
}

export class NotFound extends OAuthError {
  constructor (description: string) { super('not_found', description, 404) }
}

export class Conflict extends OAuthError {
  constructor (description: string) { super('conflict', description, 409) }
}

/** The store cannot answer: the client should retry after `Retry-After` seconds (never a guess). */
export class TemporarilyUnavailable extends OAuthError {
  constructor (options?: { cause?: unknown }) {
    super('temporarily_unavailable', 'the service is temporarily unavailable', 503, options)
  }
}

/** The epoch feed no longer keeps events that old (docs/reference/epoch-feed.md): the caller must take a new snapshot. */
export class Gone extends OAuthError {
  constructor (description: string) { super('invalid_request', description, 410) }
}
