// Preloaded into a Tally process by `npm run bench -- --profile` (node --require): counts database round
// trips by wrapping pg.Client#query, grouped by statement shape. On SIGUSR2 it writes the counts since the
// previous signal to $BENCH_QUERY_LOG (JSON) and starts over. Plain CommonJS so it loads before any ESM.
'use strict'
const { writeFileSync } = require('node:fs')
const pg = require(require.resolve('pg', { paths: [process.cwd()] }))

let counts = new Map()
const shapes = new Map()
const original = pg.Client.prototype.query
pg.Client.prototype.query = function countedQuery (config, values, callback) {
  const text = typeof config === 'string' ? config : (config && config.text) || ''
  // Normalised once per distinct text: the counter must not cost the process it measures.
  let shape = shapes.get(text)
  if (shape === undefined) { shape = text.replace(/\s+/g, ' ').trim().slice(0, 90); if (shapes.size < 10000) shapes.set(text, shape) }
  counts.set(shape, (counts.get(shape) || 0) + 1)
  return original.call(this, config, values, callback)
}

process.on('SIGUSR2', () => {
  const out = Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]))
  counts = new Map()
  if (process.env.BENCH_QUERY_LOG) writeFileSync(process.env.BENCH_QUERY_LOG, JSON.stringify(out))
})
