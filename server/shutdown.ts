// Graceful shutdown (docs/reference/operations.md): stop accepting, finish in-flight requests, close the database.
// Node's http.Server.close() also drops "idle" connections at once — including ones accepted a moment ago
// whose request bytes have not been read yet, which the client sees as a reset. So we stop listening
// first, keep serving what was already accepted for a short grace period (answering with
// `Connection: close` so keep-alive clients go elsewhere), and only then close the app.
import { Server } from 'node:net'
import type { FastifyInstance } from 'fastify'

declare module 'fastify' {
  interface FastifyInstance {
    draining: boolean
  }
}

const DEFAULT_GRACE_MS = 1000
/** After this long, connections that still hold the close up (a client that never sends) are cut. */
const CLOSE_DEADLINE_MS = 10_000

export async function gracefulClose (app: FastifyInstance, graceMs = DEFAULT_GRACE_MS): Promise<void> {
  app.draining = true
  if (app.server.listening) {
    // net.Server#close: stop accepting without http.Server's closeIdleConnections().
    await new Promise<void>((resolve) => {
      Server.prototype.close.call(app.server, () => resolve())
      setTimeout(resolve, graceMs).unref()
    })
  }
  const deadline = setTimeout(() => app.server.closeAllConnections(), CLOSE_DEADLINE_MS)
  deadline.unref()
  try {
    await app.close()
  } finally {
    clearTimeout(deadline)
  }
}
