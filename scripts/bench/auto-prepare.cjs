// PROTOTYPE, bench only (BENCH_TALLY_PREPARE=1): turns every parameterised statement Tally sends through
// node-postgres into a NAMED prepared statement, keyed by a hash of its SQL text, so Postgres parses and
// plans each statement shape once per connection instead of on every call. Kysely always passes a values
// array, so this catches all of Tally's store queries; LISTEN and other text-only calls are left alone.
// It measures what server/store/database.ts would gain from doing the same (see docs/performance.md).
'use strict'
const { createHash } = require('node:crypto')
const pg = require(require.resolve('pg', { paths: [process.cwd()] }))

const MAX_NAMES_PER_CONNECTION = 200
const original = pg.Client.prototype.query
pg.Client.prototype.query = function autoPrepared (config, values, callback) {
  if (typeof config === 'string' && Array.isArray(values) && config.length < 16384) {
    const names = this.__benchNames || (this.__benchNames = new Set())
    const name = 'tb_' + createHash('sha1').update(config).digest('base64url').slice(0, 22)
    if (names.has(name) || names.size < MAX_NAMES_PER_CONNECTION) {
      names.add(name)
      return original.call(this, { name, text: config, values }, callback)
    }
  }
  return original.call(this, config, values, callback)
}
