// Freshness benchmark (issue 4): two Tally instances on one Postgres, each with its own pool and LISTEN
// connection; a verifier follows instance B's feed. Each round mints a token through A, has the verifier
// accept it, revokes the identity's sessions through A's admin API (an epoch bump), and measures from
// the HTTP 200 of that change to the verifier refusing the old token. Prints p50/p99/max in milliseconds.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test CHANGES=500 TRANSPORT=sse npm run bench:freshness
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import pg from 'pg'
import { buildApp } from '../../server/app.js'
import { loadConfig } from '../../server/config.js'
import { createVerifier, type FeedTransport } from '../../packages/verifier/src/index.js'

const BASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const CHANGES = Number(process.env.CHANGES ?? 500)
const TRANSPORT = (process.env.TRANSPORT ?? 'sse') as FeedTransport
const ISSUER = 'http://localhost:8080'
const ADMIN_SECRET = `tly_${randomBytes(32).toString('base64url')}`

async function withClient<T> (fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: BASE_URL })
  await c.connect()
  try { return await fn(c) } finally { await c.end() }
}

const form = (params: Record<string, string>): string => new URLSearchParams(params).toString()
const basic = (id: string, secret: string): string => 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')

async function call (url: string, init: RequestInit, status = 200): Promise<any> {
  const res = await fetch(url, init)
  const text = await res.text()
  if (res.status !== status) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text}`)
  return text === '' ? undefined : JSON.parse(text)
}

async function token (base: string, clientId: string, secret: string, resource: string): Promise<string> {
  const body = await call(`${base}/token`, {
    method: 'POST',
    headers: { authorization: basic(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ grant_type: 'client_credentials', resource })
  })
  return body.access_token
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)] as number
}

async function main (): Promise<void> {
  const schema = `tally_bench_${randomBytes(6).toString('hex')}`
  await withClient(async (c) => await c.query(`create schema ${schema}`))
  const url = new URL(BASE_URL)
  url.searchParams.set('options', `-c search_path=${schema}`)
  const config = loadConfig({
    DATABASE_URL: url.toString(),
    DATA_DIR: mkdtempSync(join(tmpdir(), 'tally-bench-')),
    TALLY_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    TALLY_BOOTSTRAP_ADMIN_SECRET: ADMIN_SECRET,
    ISSUER,
    LOG_LEVEL: 'silent'
  })
  // Two instances, each opening its own store: separate pools and LISTEN connections, as two processes.
  const apps = [await buildApp(config, { logger: false }), await buildApp(config, { logger: false })]
  const [a, b] = await Promise.all(apps.map(async (app) => {
    await app.listen({ port: 0, host: '127.0.0.1' })
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  })) as [string, string]
  let verifier: Awaited<ReturnType<typeof createVerifier>> | undefined
  try {
    const admin = await token(a, 'admin', ADMIN_SECRET, 'urn:tally:admin')
    const adminJson = (method: string, body: unknown): RequestInit => ({ method, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const identity = async (clientId: string, kind: string): Promise<{ id: string, secret: string }> => {
      const { id } = await call(`${a}/admin/identities`, adminJson('POST', { client_id: clientId, kind }), 201)
      const { client_secret: secret } = await call(`${a}/admin/identities/${id}/secrets`, adminJson('POST', {}), 201)
      return { id, secret }
    }
    const rs = await identity('bench-rs', 'resource_server')
    const svc = await identity('bench-svc', 'service_account')
    const resource = 'https://bench.example/api'
    await call(`${a}/admin/resources`, adminJson('POST', { identifier: resource, scopes: ['read'], introspectors: ['bench-rs'] }), 201)
    await call(`${a}/admin/identities/${svc.id}/entitlements`, adminJson('POST', { resource, scopes: ['read'] }), 201)

    verifier = await createVerifier({ issuer: ISSUER, serverUrl: b, audience: resource, clientId: 'bench-rs', clientSecret: rs.secret, transport: TRANSPORT })
    const latencies: number[] = []
    for (let i = 0; i < CHANGES; i++) {
      const old = await token(a, 'bench-svc', svc.secret, resource)
      const first = await verifier.verify(old)
      if (!first.active) throw new Error(`a fresh token was refused: ${first.reason}`)
      await call(`${a}/admin/identities/${svc.id}/revoke-sessions`, adminJson('POST', {}))
      const acknowledged = performance.now()
      for (;;) {
        const result = await verifier.verify(old)
        if (!result.active) {
          if (result.reason !== 'stale') throw new Error(`unexpected reason ${result.reason}`)
          break
        }
        await new Promise((resolve) => setImmediate(resolve))
      }
      latencies.push(performance.now() - acknowledged)
    }
    latencies.sort((x, y) => x - y)
    const fmt = (ms: number): string => ms.toFixed(2)
    console.log(`freshness over ${CHANGES} changes (${TRANSPORT}, admin 200 on A -> verifier on B refuses): ` +
      `p50 ${fmt(percentile(latencies, 50))} ms, p99 ${fmt(percentile(latencies, 99))} ms, max ${fmt(latencies[latencies.length - 1] as number)} ms`)
  } finally {
    // Servers first: a client that aborts a request first leaves undici opening a socket that sends
    // nothing, and server.close() would wait for it to time out.
    for (const app of apps) await app.close()
    await verifier?.close()
    await withClient(async (c) => await c.query(`drop schema ${schema} cascade`))
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
