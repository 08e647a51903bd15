// pino options: JSON logs with credentials redacted wherever they could appear (SPEC §6).
import type { FastifyServerOptions } from 'fastify'

export const REDACTED_PATHS = [
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

export function loggerOptions (level: string): FastifyServerOptions['logger'] {
  return { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }
}
