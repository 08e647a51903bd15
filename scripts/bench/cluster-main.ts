// Prototype of a "worker per core" start mode, for measurement only: the primary forks BENCH_WORKERS
// copies of the compiled server/main.js, which share the listening port through node:cluster. Each worker
// has its own pool and SessionWriter; nothing in Tally's contract depends on a single process (the
// database is the only shared state, as with several instances).
import cluster from 'node:cluster'
import { join } from 'node:path'

const workers = Math.max(1, Number(process.env.BENCH_WORKERS ?? 2))

if (cluster.isPrimary) {
  cluster.setupPrimary({ exec: join(import.meta.dirname, '..', '..', 'server', 'main.js') })
  for (let i = 0; i < workers; i++) cluster.fork()
  let stopping = false
  const stop = (): void => {
    stopping = true
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM')
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  cluster.on('exit', (worker, code) => {
    if (!stopping) process.stderr.write(`tally worker ${worker.process.pid} exited with ${code}\n`)
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(stopping ? 0 : 1)
  })
}
