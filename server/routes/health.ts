// docs/reference/operations.md: /healthz says the process is up; /readyz that the database answers and keys are loaded.
import type { FastifyInstance } from 'fastify'
import { TemporarilyUnavailable } from '../errors.js'
import { ping } from '../store/database.js'

export default async function healthRoutes (app: FastifyInstance): Promise<void> {
  app.get('/healthz', async function healthz () { return { status: 'ok' } })
  app.get('/readyz', async function readyz () {
    // A draining instance tells its load balancer to stop sending traffic.
    if (app.draining) throw new TemporarilyUnavailable({ cause: 'shutting down' })
    try {
      await ping(app.tally.db)
    } catch (err) {
      throw new TemporarilyUnavailable({ cause: err })
    }
    if (!app.tally.keys.loaded) throw new TemporarilyUnavailable({ cause: 'no signing keys loaded' })
    return { status: 'ready' }
  })
}
