// A node-postgres client that sends every parameterised statement as a NAMED prepared statement, so
// Postgres parses and plans each statement shape once per connection instead of on every call. Measured
// on /token: 854 → 400 µs of CPU per request, most of it Postgres planning the client lookup
// (docs/performance.md). Kysely always passes a values array, so all store queries qualify; text-only
// calls (BEGIN, COMMIT, LISTEN) are left alone. A cap per connection bounds server-side memory when a
// query's shape varies (an IN list of varying length); past it, statements run unnamed as before.
import { createHash } from 'node:crypto'
import pg from 'pg'

const MAX_NAMES_PER_CONNECTION = 256
const MAX_SQL_LENGTH = 16_384
const names = new Map<string, string>()

function statementName (text: string): string {
  let name = names.get(text)
  if (name === undefined) {
    name = 't_' + createHash('sha1').update(text).digest('base64url').slice(0, 24)
    if (names.size < 10_000) names.set(text, name)
  }
  return name
}

// SQLSTATE 0A000 "cached plan must not change result type": a prepared statement outlived a schema change.
const STALE_PLAN = '0A000'

export class PreparingClient extends pg.Client {
  readonly #prepared = new Set<string>()

  // pg's query() has many overloads; only (text, values) — the form Kysely uses — is rewritten.
  override query (...args: any[]): any {
    const [text, values, callback] = args
    if (typeof text !== 'string' || !Array.isArray(values) || callback !== undefined || text.length > MAX_SQL_LENGTH) {
      return (super.query as (...a: any[]) => any)(...args)
    }
    const name = statementName(text)
    if (!this.#prepared.has(name)) {
      if (this.#prepared.size >= MAX_NAMES_PER_CONNECTION) return super.query(text, values)
      this.#prepared.add(name)
    }
    return super.query({ name, text, values }).catch(async (err: { code?: string }) => {
      if (err.code !== STALE_PLAN) throw err
      return await super.query(text, values)
    })
  }
}
