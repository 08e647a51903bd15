// RFC 6749 §3.3: scope = scope-token *( SP scope-token ), scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
import { InvalidScope } from '../errors.js'

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/

/** The distinct scope tokens of a `scope` parameter, in order; throws InvalidScope when malformed. */
export function parseScope (scope: string | undefined): string[] | undefined {
  if (scope === undefined) return undefined
  const tokens = scope.split(' ').filter((s) => s !== '')
  if (tokens.length === 0) return undefined
  for (const token of tokens) if (!SCOPE_TOKEN.test(token)) throw new InvalidScope('scope is malformed')
  return [...new Set(tokens)]
}

/** Every requested scope must be held; without a request, all held scopes are granted. */
export function grantScopes (requested: string[] | undefined, held: Set<string>): string[] {
  if (requested === undefined) return [...held]
  for (const scope of requested) if (!held.has(scope)) throw new InvalidScope()
  return requested
}
