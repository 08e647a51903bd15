// application/x-www-form-urlencoded bodies for the OAuth endpoints (RFC 6749 Appendix B), parsed strictly:
// a malformed percent-escape is an error rather than a silent U+FFFD, and a repeated parameter is refused
// (RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once").
import { InvalidRequest } from '../errors.js'
import { hasControlCharacters } from './safe-text.js'

/** Parsed parameters; `resource` may repeat (RFC 8707 §2), so it is kept apart as a list. */
export interface FormParams {
  [name: string]: string | undefined
}
export interface ParsedForm { params: FormParams, resources: string[] }

const REPEATABLE = new Set(['resource'])

// Parameters of the OAuth endpoints Tally serves (RFC 6749, 7009, 7521, 7523, 7662, 8693, 8707 and the
// feed's): an error description may name one of these, never anything else a client sent — a misplaced
// secret as a parameter name would otherwise be echoed back and logged.
const KNOWN_PARAMETERS = new Set([
  'grant_type', 'scope', 'resource', 'audience', 'client_id', 'client_secret', 'client_assertion', 'client_assertion_type',
  'assertion', 'token', 'token_type_hint', 'identity', 'subject_token', 'subject_token_type', 'actor_token', 'actor_token_type',
  'requested_token_type', 'after', 'wait', 'code', 'redirect_uri', 'code_verifier', 'state', 'refresh_token'
])

/** `duplicate parameter: scope`, or `duplicate parameter` when the name is not one Tally knows. */
export function describeParameter (problem: string, name: string): string {
  return KNOWN_PARAMETERS.has(name) ? `${problem}: ${name}` : problem
}
const MAX_PARAMETERS = 64

function decode (raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '))
  } catch {
    throw new InvalidRequest('the request body is not valid form encoding')
  }
}

export function parseForm (body: string): ParsedForm {
  const params: FormParams = Object.create(null)
  const resources: string[] = []
  const seen = new Set<string>()
  if (body === '') return { params, resources }
  const pairs = body.split('&')
  if (pairs.length > MAX_PARAMETERS) throw new InvalidRequest('too many parameters')
  for (const pair of pairs) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const name = decode(eq < 0 ? pair : pair.slice(0, eq))
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1))
    // docs/reference/endpoints.md: NUL (which Postgres cannot store) or any control character is a client error, before SQL.
    if (hasControlCharacters(name) || hasControlCharacters(value)) throw new InvalidRequest('parameters must not contain NUL or control characters')
    if (/[[\]]/.test(name)) throw new InvalidRequest('unsupported parameter name')
    if (seen.has(name) && !REPEATABLE.has(name)) throw new InvalidRequest(describeParameter('duplicate parameter', name))
    seen.add(name)
    // RFC 6749 §3.1: parameters sent without a value MUST be treated as if they were omitted.
    if (value === '') continue
    if (REPEATABLE.has(name)) resources.push(value)
    else params[name] = value
  }
  return { params, resources }
}
