// buildApp(config): a ready Fastify instance that is not listening yet. main.ts listens; tests inject.
import Fastify, { type FastifyInstance } from 'fastify'
import ValidatorSelector from '@fastify/ajv-compiler'
import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import type { Config } from './config.js'
import { loggerOptions } from './logger.js'
import tallyPlugin from './plugins/tally.js'
import errorHandler from './plugins/error-handler.js'
import formBody, { FORM_BODY_LIMIT } from './plugins/form-body.js'
import jsonBody from './plugins/json-body.js'
import pathParams from './plugins/path-params.js'
import adminAuth from './plugins/admin-auth.js'
import maintenance from './plugins/maintenance.js'
import feedHub from './plugins/feed-hub.js'
import metrics from './plugins/metrics.js'
import openapi from './plugins/openapi.js'
import tokenRoute from './routes/token.js'
import introspectRoute from './routes/introspect.js'
import revokeRoute from './routes/revoke.js'
import metadataRoute from './routes/metadata.js'
import authorizeRoute from './routes/authorize.js'
import jwksRoute from './routes/jwks.js'
import healthRoutes from './routes/health.js'
import adminRoutes from './routes/admin/index.js'
import epochsRoutes from './routes/epochs.js'
import consoleRoutes from './console/plugin.js'
import type { Store } from './store/database.js'

export interface BuildOptions {
  /** Share one opened store between apps (tests; two instances on one database). */
  store?: Store
  logger?: boolean
}

// One pool of schema compilers for every app this process builds, where Fastify would make one per app:
// Ajv then compiles each route's schema once per process. Production builds one app; the tests build
// about a hundred, and each compiled every schema again (~0.2 s of CPU per app, 44 s a run).
const compilersFactory = { buildValidator: ValidatorSelector(), buildSerializer: SerializerSelector() }

/** A hop count as fastify's trust function: the nearest `hops` proxies are believed (proxy-addr semantics). */
function trustHops (hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops
}

export async function buildApp (config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger === false ? false : loggerOptions(config.logLevel),
    bodyLimit: FORM_BODY_LIMIT,
    // TRUST_PROXY: request.ip (throttling, logs) from X-Forwarded-For only behind proxies one trusts.
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    // Requests that stall must not hold a connection forever.
    requestTimeout: 30_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // First start on embedded PGlite runs initdb, migrations and key generation: well over Fastify's
    // default 10 s plugin timeout on a loaded machine. A start that is really stuck still fails.
    pluginTimeout: 120_000,
    // Admin JSON is validated as sent: no type coercion, no silently dropped fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } },
    schemaController: { compilersFactory }
  })
  // RFC 6749 §5.1, RFC 7662 §2.2: responses carrying tokens or token state must not be cached.
  app.decorate('draining', false)
  app.addHook('onRequest', async function noStore (_request, reply) {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
    // While shutting down, tell keep-alive clients to take their next request elsewhere.
    if (app.draining) reply.header('connection', 'close')
  })
  await app.register(tallyPlugin, { config, store: options.store })
  await app.register(errorHandler)
  await app.register(feedHub)
  await app.register(metrics)
  await app.register(openapi)
  await app.register(formBody)
  await app.register(jsonBody)
  await app.register(pathParams)
  await app.register(adminAuth)
  await app.register(maintenance)
  await app.register(metadataRoute)
  await app.register(authorizeRoute)
  await app.register(jwksRoute)
  await app.register(healthRoutes)
  await app.register(tokenRoute)
  await app.register(introspectRoute)
  await app.register(revokeRoute)
  await app.register(adminRoutes, { prefix: '/admin' })
  await app.register(epochsRoutes)
  await app.register(consoleRoutes)
  await app.ready()
  return app
}
