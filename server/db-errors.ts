// Tells a database that cannot answer (down, unreachable, too slow) from a bug: the first is a 503 with
// Retry-After (docs/reference/errors.md), never a guess; the second is a 500.

// SQLSTATE classes 08 (connection exception), 53 (insufficient resources), 57P (operator intervention)
// and 57014 (statement timeout).
const UNAVAILABLE_SQLSTATE = /^(08|53|57P)|^57014$/
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN'])
const UNAVAILABLE_MESSAGES = /timeout exceeded when trying to connect|Connection terminated|Query read timeout|Client has encountered a connection error|connection is closed|Cannot use a pool after calling end/i

export function isDatabaseUnavailable (err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true
    if (UNAVAILABLE_MESSAGES.test(e.message)) return true
  }
  return false
}

/** SQLSTATE 23505: a unique constraint refused the row (a concurrent duplicate the caller's check could not see). */
export const isUniqueViolation = (err: unknown): boolean => (err as { code?: string } | null)?.code === '23505'
