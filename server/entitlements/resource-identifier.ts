// Resource identifiers compared under RFC 3986 §6.2.2–6.2.3 equivalence (docs/reference/endpoints.md): the SDKs of MCP and
// others send `new URL(x).href`, which turns `https://mcp.example.com` into `https://mcp.example.com/`.
// `resourceKey` maps every spelling of one identifier to one string, stored beside the registered
// identifier (resources.identifier_key, unique) so that registration refuses a second spelling and
// lookups stay one indexed read; the registered form stays the token's `aud`.
//
// What is equivalent (and why):
// - §6.2.2.1 case: the scheme and the host are case-insensitive (§3.1, §3.2.2); percent-encoding
//   triplets compare with upper-case hex digits.
// - §6.2.2.2 percent-encoding: a percent-encoded unreserved character (§2.3) is that character.
// - §6.2.2.3 path segments: "." and ".." segments are removed (§5.2.4).
// - §6.2.3 scheme-based, for the schemes whose defaults we know (http, https, ws, wss): an empty port and
//   the default port are dropped, and an empty path is "/".
// What stays significant: the case of the path, the query and userinfo; a trailing slash on a non-empty
// path (`/mcp` ≠ `/mcp/`, they are different resources to an HTTP server).
// URNs (and any URI without an authority) compare byte for byte, as before: RFC 8141 §3.1 makes the
// "urn" scheme and the NID case-insensitive, but Tally's identifiers (urn:tally:admin among them) have
// always been exact, and folding them now could make two registered resources collide at migration.

const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443', ws: '80', wss: '443' }
// RFC 3986 §3: scheme ":" "//" authority path-abempty [ "?" query ] (the fragment is refused at registration).
const WITH_AUTHORITY = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/
const TRIPLET = /%([0-9A-Fa-f]{2})/g
const UNRESERVED = /[A-Za-z0-9\-._~]/

/** RFC 3986 §6.2.2.1–2: upper-case hex in triplets, and decode the ones that encode an unreserved character. */
function normalisePercent (text: string): string {
  if (!text.includes('%')) return text
  return text.replace(TRIPLET, (_match, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16))
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`
  })
}

/** RFC 3986 §5.2.4 remove_dot_segments. */
function removeDotSegments (path: string): string {
  if (!path.includes('.')) return path
  const output: string[] = []
  let input = path
  while (input !== '') {
    if (input.startsWith('../')) input = input.slice(3)
    else if (input.startsWith('./')) input = input.slice(2)
    else if (input.startsWith('/./')) input = input.slice(2)
    else if (input === '/.') input = '/'
    else if (input.startsWith('/../')) { input = input.slice(3); output.pop() } else if (input === '/..') { input = '/'; output.pop() } else if (input === '.' || input === '..') input = ''
    else {
      const next = input.indexOf('/', input.startsWith('/') ? 1 : 0)
      const segment = next === -1 ? input : input.slice(0, next)
      output.push(segment)
      input = next === -1 ? '' : input.slice(next)
    }
  }
  return output.join('')
}

/** The authority with its host in lower case and an empty or default port dropped (§6.2.2.1, §6.2.3). */
function normaliseAuthority (authority: string, scheme: string): string {
  const at = authority.lastIndexOf('@')
  const userinfo = at === -1 ? '' : normalisePercent(authority.slice(0, at + 1))
  let hostPort = authority.slice(at + 1)
  let port = ''
  // The port follows the last ":" outside an IP-literal's brackets.
  const colon = hostPort.lastIndexOf(':')
  if (colon !== -1 && colon > hostPort.lastIndexOf(']')) {
    port = hostPort.slice(colon + 1)
    hostPort = hostPort.slice(0, colon)
  }
  if (/^[0-9]+$/.test(port)) port = port.replace(/^0+(?=[0-9])/, '')
  if (port === '' || port === DEFAULT_PORTS[scheme]) port = ''
  const host = normalisePercent(hostPort).toLowerCase()
  return `${userinfo}${host}${port === '' ? '' : `:${port}`}`
}

/**
 * The comparison key of a resource identifier: equal keys ⇔ equivalent identifiers. Total: any string
 * has a key (an identifier that is not a URI with an authority is its own key).
 */
export function resourceKey (identifier: string): string {
  const match = WITH_AUTHORITY.exec(identifier)
  if (match === null) return identifier
  const scheme = (match[1] as string).toLowerCase()
  const authority = normaliseAuthority(match[2] as string, scheme)
  let path = removeDotSegments(normalisePercent(match[3] as string))
  if (path === '' && DEFAULT_PORTS[scheme] !== undefined) path = '/'
  const query = match[4] === undefined ? '' : normalisePercent(match[4])
  const fragment = match[5] === undefined ? '' : normalisePercent(match[5])
  return `${scheme}://${authority}${path}${query}${fragment}`
}

// Keys of the identifiers seen at /token, so a busy client's entitled resources are parsed once.
const MAX_CACHED = 4096
const keys = new Map<string, string>()
function cachedKey (identifier: string): string {
  let key = keys.get(identifier)
  if (key === undefined) {
    key = resourceKey(identifier)
    if (keys.size >= MAX_CACHED) keys.clear()
    keys.set(identifier, key)
  }
  return key
}

/**
 * The registered identifier among `registered` that `requested` names: the exact spelling first, else
 * the one equivalent spelling (registration keeps keys unique, so there is at most one).
 */
export function equivalentResource (registered: Iterable<string>, requested: string): string | undefined {
  const candidates = [...registered]
  if (candidates.includes(requested)) return requested
  const wanted = resourceKey(requested)
  return candidates.find((identifier) => cachedKey(identifier) === wanted)
}
