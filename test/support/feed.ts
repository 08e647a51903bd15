// Fixtures for the epoch feed and verifier tests: a resource with an introspector (the verifier's own
// identity) and a service entitled to it, all created through the admin API with random names.
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../server/app.js'
import { openStore } from '../../server/store/database.js'
import { waitFor as waitUntil } from './wait.js'
import { adminCall, adminToken, requestToken, sharedStore, testConfig, uniqueId } from '../helper.js'

export interface FixtureIdentity { id: string, clientId: string, secret: string }
export interface FeedFixture { admin: string, resource: string, rs: FixtureIdentity, svc: FixtureIdentity }

async function ok (res: { statusCode: number, body: string, json: () => any }, status = 201): Promise<any> {
  if (res.statusCode !== status) throw new Error(`admin call: ${res.statusCode} ${res.body}`)
  return res.json()
}

export async function createIdentity (app: FastifyInstance, admin: string, kind = 'service_account', prefix = 'svc'): Promise<FixtureIdentity> {
  const clientId = uniqueId(prefix)
  const identity = await ok(await adminCall(app, admin, 'POST', '/admin/identities', { client_id: clientId, kind }))
  const secret = await ok(await adminCall(app, admin, 'POST', `/admin/identities/${identity.id}/secrets`, {}))
  return { id: identity.id, clientId, secret: secret.client_secret }
}

export async function feedFixture (app: FastifyInstance): Promise<FeedFixture> {
  const admin = await adminToken(app)
  const rs = await createIdentity(app, admin, 'resource_server', 'rs')
  const svc = await createIdentity(app, admin)
  const resource = `https://${uniqueId('api')}.example`
  await ok(await adminCall(app, admin, 'POST', '/admin/resources', { identifier: resource, scopes: ['read', 'write'], introspectors: [rs.clientId] }))
  await ok(await adminCall(app, admin, 'POST', `/admin/identities/${svc.id}/entitlements`, { resource, scopes: ['read', 'write'] }))
  return { admin, resource, rs, svc }
}

export async function mint (app: FastifyInstance, who: FixtureIdentity, resource: string, scope?: string): Promise<string> {
  const res = await requestToken(app, who.clientId, who.secret, { resource, ...(scope !== undefined && { scope }) })
  if (res.statusCode !== 200) throw new Error(`token: ${res.statusCode} ${res.body}`)
  return res.json().access_token
}

export interface Instance {
  app: FastifyInstance
  port: number
  url: string
  /** Runs after the app is closed: clients of the instance (verifiers) close after it, as in production. */
  onClosed: (close: () => Promise<void>) => void
}

/**
 * A Tally instance listening on a real port, on the database of the file (`root`, its top-level test),
 * closed at the end of `t`. With `ownStore` on Postgres it opens its own pool (and its feed its own LISTEN
 * connection), as a second process would.
 */
type Teardown = object & { teardown: (fn: () => unknown) => void }

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

/** Polls `check` until it holds; fails after a generous bound. Returns how long it took (ms). */
export async function waitFor (check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<number> {
  const started = Date.now()
  await waitUntil(check, { what, timeoutMs })
  return Date.now() - started
}
