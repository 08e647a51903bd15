// application/x-www-form-urlencoded bodies for the OAuth endpoints (RFC 6749 Appendix B), parsed strictly:
// a malformed percent-escape is an error rather than a silent U+FFFD, and a repeated parameter is refused
// (RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once").
import { InvalidRequest } from '../errors.js'

/** Parsed parameters; `resource` may repeat (RFC 8707 §2), so it is kept apart as a list. */
export interface FormParams {
  [name: string]: string | undefined
}
export interface ParsedForm { params: FormParams, resources: string[] }

const REPEATABLE = new Set(['resource'])
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
    if (name.includes('\u0000') || value.includes('\u0000')) throw new InvalidRequest('parameters must not contain NUL characters')
    if (/[[\]]/.test(name)) throw new InvalidRequest(`unsupported parameter name: ${name.slice(0, 64)}`)
    if (seen.has(name) && !REPEATABLE.has(name)) throw new InvalidRequest(`duplicate parameter: ${name.slice(0, 64)}`)
    seen.add(name)
    // RFC 6749 §3.1: parameters sent without a value MUST be treated as if they were omitted.
    if (value === '') continue
    if (REPEATABLE.has(name)) resources.push(value)
    else params[name] = value
  }
  return { params, resources }
}
