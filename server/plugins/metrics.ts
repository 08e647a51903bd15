// GET /metrics (docs/reference/operations.md): Prometheus text, no auth — expose it on internal networks only. One registry per
// app, so several instances in one process (tests) keep their own counts.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { epochBumps } from '../store/epochs.js'
import './feed-hub.js' // app.epochFeed's type; the plugin itself is registered by app.ts

export interface Metrics {
  tokensIssued: Counter<'resource_kind'>
  introspections: Counter<'outcome'>
  revocations: Counter<'kind'>
  authFailures: Counter<'method'>
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

async function metricsPlugin (app: FastifyInstance): Promise<void> {
  const register = new Registry()
  collectDefaultMetrics({ register, prefix: 'tally_' })
  const metrics: Metrics = {
    tokensIssued: new Counter({ name: 'tally_tokens_issued_total', help: 'Access tokens issued', labelNames: ['resource_kind'], registers: [register] }),
    introspections: new Counter({ name: 'tally_introspections_total', help: 'Introspections by outcome', labelNames: ['outcome'], registers: [register] }),
    revocations: new Counter({ name: 'tally_revocations_total', help: 'Revocations: single tokens and whole identities', labelNames: ['kind'], registers: [register] }),
    authFailures: new Counter({ name: 'tally_client_auth_failures_total', help: 'Failed client authentications by method', labelNames: ['method'], registers: [register] })
  }
  const bumps = new Counter({ name: 'tally_epoch_bumps_total', help: 'Epoch bumps made by this process, by reason', labelNames: ['reason'], registers: [register] })
  const onBump = (reason: string): void => { bumps.inc({ reason }) }
  epochBumps.on('bump', onBump)
  new Gauge({
    name: 'tally_feed_subscribers',
    help: 'Open epoch-feed subscribers (long-polls and streams) on this instance',
    registers: [register],
    collect () { this.set(app.epochFeed.subscriberCount) }
  })
  new Gauge({
    name: 'tally_feed_lag_seconds',
    help: 'Seconds since this instance last confirmed its feed view is current',
    registers: [register],
    collect () { this.set(app.epochFeed.lagMs / 1000) }
  })
  const latency = new Histogram({
    name: 'tally_http_request_duration_seconds',
    help: 'Request latency by route and status',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [register]
  })
  app.decorate('metrics', metrics)
  app.tally.clientAuth.onFailure = (method) => metrics.authFailures.inc({ method })

  app.addHook('onResponse', async function observeLatency (request, reply) {
    latency.observe({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) }, reply.elapsedTime / 1000)
  })
  app.addHook('onClose', async () => { epochBumps.off('bump', onBump) })

  app.get('/metrics', async function prometheusMetrics (_request, reply) {
    reply.header('cache-control', 'no-store').type(register.contentType)
    return await register.metrics()
  })
}

export default fp(metricsPlugin, { name: 'metrics', dependencies: ['tally', 'feed-hub'] })
