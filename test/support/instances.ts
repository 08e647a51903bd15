// Real listening Tally instances on the file's database (for verifiers, the epoch feed and anything that
// needs a socket, not app.inject), and the feed fixture: a resource with an introspector (the verifier's
// own identity) and a service entitled to it, all created through the admin API with random names.
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../server/app.js'
import { openStore } from '../../server/store/database.js'
import { adminToken, sharedStore, testConfig } from '../helper.js'
import { createClient, createResource, type TestClient } from './admin.js'

export interface FeedFixture { admin: string, resource: string, rs: TestClient, svc: TestClient }

/** A resource (read, write) whose introspector is `rs`, and `svc` entitled to both its scopes. */
export async function feedFixture (app: FastifyInstance): Promise<FeedFixture> {
  const admin = await adminToken(app)
  const rs = await createClient(app, admin, { kind: 'resource_server', prefix: 'rs' })
  const { identifier: resource } = await createResource(app, admin, { scopes: ['read', 'write'], introspectors: [rs.clientId] })
  const svc = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read', 'write'] }] })
  return { admin, resource, rs, svc }
}

export interface Instance {
  app: FastifyInstance
  port: number
  url: string
  /** Runs after the app is closed: clients of the instance (verifiers) close after it, as in production. */
  onClosed: (close: () => Promise<void>) => void
}

type Teardown = object & { teardown: (fn: () => unknown) => void }

/**
 * A Tally instance listening on a real port, on the database of the file (`root`, its top-level test),
 * closed at the end of `t`. With `ownStore` on Postgres it opens its own pool (and its feed its own LISTEN
 * connection), as a second process would.
 */
export async function startInstance (root: Teardown, t: Teardown, options: { ownStore?: boolean, port?: number, overrides?: Record<string, string> } = {}): Promise<Instance> {
  const shared = await sharedStore(root)
  const { databaseUrl } = shared
  const store = options.ownStore === true && databaseUrl !== undefined ? await openStore({ databaseUrl, dataDir: 'memory://' }) : shared.store
  const config = testConfig({ FEED_MAX_STALENESS_S: '2', ...(databaseUrl !== undefined && { DATABASE_URL: databaseUrl }), ...options.overrides })
  const app = await buildApp(config, { store, logger: false })
  // Clients close after the server: a fetch aborted mid-request makes undici open a fresh socket that
  // sends nothing, and Node's server.close() waits for such a socket until it times out (about 70 s).
  const closers: Array<() => Promise<void>> = []
  t.teardown(async () => {
    if (app.server.listening) await app.close()
    for (const close of closers) await close()
    if (store !== shared.store) await store.close()
  })
  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port
  return { app, port, url: `http://127.0.0.1:${port}`, onClosed: (close) => closers.push(close) }
}
