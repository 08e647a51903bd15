// pino options: JSON logs with credentials redacted wherever they could appear (docs/reference/operations.md). A query string
// may carry a secret (`/epochs?client_secret=…`, `/admin/…?access_token=…`): the logged URL keeps the
// names Tally knows and replaces every value, and any other name, with a placeholder.
import type { FastifyRequest, FastifyServerOptions } from 'fastify'

const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.client_secret',
  '*.client_assertion',
  '*.assertion',
  '*.token',
  '*.access_token',
  'client_secret',
  'client_assertion',
  'assertion',
  'token',
  'access_token'
]

// Query parameters Tally's own endpoints read: their names may be logged (their values never are).
const LOGGED_QUERY_NAMES = new Set(['after', 'wait', 'cursor', 'limit', 'status', 'kind', 'identity', 'resource', 'client_id', 'client_secret', 'access_token', 'token'])

/** `/epochs?after=…&wait=…` → `/epochs?after=_&wait=_`; an unknown name becomes `_` too. */
export function redactUrl (url: string): string {
  const q = url.indexOf('?')
  if (q < 0) return url
  const pairs = url.slice(q + 1).split('&').filter((pair) => pair !== '').map((pair) => {
    const eq = pair.indexOf('=')
    const name = eq < 0 ? pair : pair.slice(0, eq)
    let decoded: string
    try { decoded = decodeURIComponent(name.replace(/\+/g, ' ')) } catch { decoded = '' }
    return `${LOGGED_QUERY_NAMES.has(decoded) ? decoded : '_'}=_`
  })
  return `${url.slice(0, q)}?${pairs.join('&')}`
}

/** Fastify's own request serializer, with the query redacted. */
function serializeRequest (request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort
  }
}

export function loggerOptions (level: string): FastifyServerOptions['logger'] {
  return { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, serializers: { req: serializeRequest } }
}
