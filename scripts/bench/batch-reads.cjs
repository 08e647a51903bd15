// PROTOTYPE, bench only (BENCH_TALLY_BATCH_READS=1, implies auto-prepare): group the two hot reads of
// concurrent requests into one statement per event-loop turn, as SessionWriter already does for inserts.
// - loadClient (`… where i.client_id = $1 …`) becomes `client_id = any($1)` for every client waiting;
// - checkAccessToken (`… where s.jti = $2`) becomes a join over unnest($kids, $jtis).
// Each request's read still starts after the request arrived, so it sees every commit acknowledged
// before it: introspection stays strictly consistent. Implemented here as a driver-level rewrite so it
// can be measured without touching server/; a real implementation belongs in server/store.
'use strict'
require('./auto-prepare.cjs')
const pg = require(require.resolve('pg', { paths: [process.cwd()] }))

const CLIENT_WHERE = "where i.client_id = $1 and i.status <> 'deleted'"
const TOKEN_WHERE = /where s\.jti = \$2\s*$/

function rewrite (text) {
  // Only the statement shapes of loadClient and checkAccessToken as of commit 2968d69 (server/ changes
  // underneath this prototype: anything else passes through, still auto-prepared).
  if (/^\s*select i\.id, i\.client_id, i\.kind/.test(text) && text.includes(CLIENT_WHERE)) {
    return { kind: 'client', text: text.replace(CLIENT_WHERE, "where i.client_id = any($1::text[]) and i.status <> 'deleted'"), key: (v) => v[0], rowKey: (r) => r.client_id }
  }
  if (/^\s*select s\.token_hash/.test(text) && TOKEN_WHERE.test(text) && text.includes('from sessions s') && text.includes('k.kid = $1')) {
    const batched = text.replace(TOKEN_WHERE, '')
      .replace(/^\s*select /, 'select q.jti::text as __jti, ')
      .replace('from sessions s', 'from unnest($1::text[], $2::uuid[]) as q(kid, jti) join sessions s on s.jti = q.jti')
      .replace('k.kid = $1', 'k.kid = q.kid')
    return { kind: 'token', text: batched, key: (v) => String(v[1]), rowKey: (r) => r.__jti, columns: 2 }
  }
  return undefined
}

const rewrites = new Map()
const queues = new Map()
const original = pg.Client.prototype.query

function flush (text) {
  const queue = queues.get(text)
  queues.delete(text)
  const spec = rewrites.get(text)
  const runner = queue[0].client
  const values = spec.kind === 'client'
    ? [queue.map((q) => spec.key(q.values))]
    : [queue.map((q) => q.values[0]), queue.map((q) => q.values[1])]
  // Run through the (auto-preparing) query of the first waiting client: its connection is checked out and idle.
  runner.query(spec.text, values).then((result) => {
    const byKey = new Map()
    for (const row of result.rows) byKey.set(spec.rowKey(row), row)
    for (const q of queue) {
      const row = byKey.get(spec.key(q.values))
      q.resolve({ command: 'SELECT', rowCount: row === undefined ? 0 : 1, rows: row === undefined ? [] : [row], fields: result.fields })
    }
  }, (err) => { for (const q of queue) q.reject(err) })
}

pg.Client.prototype.query = function batchedQuery (config, values, callback) {
  if (typeof config === 'string' && Array.isArray(values) && callback === undefined) {
    let spec = rewrites.get(config)
    if (spec === undefined && !rewrites.has(config)) { spec = rewrite(config); rewrites.set(config, spec) }
    if (spec !== undefined) {
      return new Promise((resolve, reject) => {
        let queue = queues.get(config)
        if (queue === undefined) { queue = []; queues.set(config, queue); setImmediate(() => flush(config)) }
        queue.push({ client: this, values, resolve, reject })
      })
    }
  }
  return original.call(this, config, values, callback)
}
