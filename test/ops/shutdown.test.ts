// Graceful shutdown (docs/reference/operations.md): closing under load finishes every accepted request — each 200 has its
// session stored — and refuses new ones cleanly; SIGTERM exits 0.
import t from '../support/tap.js'
import { spawn } from 'node:child_process'
import { request } from 'node:http'
import { adminToken, build, sharedStore, basic, decodePayload, FORM_TYPE, freePort, KEK, privateSchemaUrl, SERVER_NODE_ARGS, testDataDir } from '../helper.js'
import { createClient, createResource } from '../support/admin.js'
import { waitFor } from '../support/wait.js'
import { gracefulClose } from '../../server/shutdown.js'

interface Outcome { status?: number, error?: string, body?: string }

function post (port: number, path: string, headers: Record<string, string>, body: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent: false }, (res) => {
      let data = ''
      res.on('data', (chunk) => { data += chunk })
      res.on('end', () => resolve({ status: res.statusCode, body: data }))
      res.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }))
    })
    req.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }))
    req.end(body)
  })
}

t.test('closing under load answers every request in flight and refuses new ones', async (t) => {
  const app = await build(t)
  const admin = await adminToken(app)
  const { identifier: resource } = await createResource(app, admin)
  const client = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const headers = { authorization: basic(client.clientId, client.secret), 'content-type': FORM_TYPE }
  // Close once the server has read every request: those are in flight and must all be answered. (A
  // connection still in the kernel's accept queue when the listener closes is reset by the kernel.)
  let received = 0
  app.server.on('request', () => { received++ })
  const inFlight = Array.from({ length: 100 }, async () => await post(port, '/token', headers, 'grant_type=client_credentials'))
  await waitFor(() => received === 100, { timeoutMs: 30_000, what: 'the server to read all 100 requests' })
  const closed = gracefulClose(app)
  const late = await post(port, '/token', headers, 'grant_type=client_credentials')
  const outcomes = await Promise.all(inFlight)
  await closed
  t.ok(late.error === 'ECONNREFUSED' || late.status === 503, `a request after close is refused (${late.error ?? late.status})`)
  t.strictSame(outcomes.filter((o) => o.status !== 200), [], 'every request in flight at the close was answered 200')
  const issued = outcomes.filter((o) => o.status === 200).map((o) => JSON.parse(o.body as string).access_token as string)
  const jtis = issued.map((token) => decodePayload(token).jti as string)
  const { store } = await sharedStore(t)
  const rows = jtis.length === 0 ? [] : await store.db.selectFrom('sessions').select('jti').where('jti', 'in', jtis).execute()
  t.equal(rows.length, jtis.length, 'every issued token has its session stored')
})

t.test('SIGTERM stops the server and exits 0', async (t) => {
  const dataDir = testDataDir()
  const port = await freePort()
  // On Postgres the server gets a private schema too: the bare DATABASE_URL is the shared database's public schema.
  const databaseUrl = process.env.DATABASE_URL !== undefined ? { DATABASE_URL: await privateSchemaUrl(t, process.env.DATABASE_URL) } : {}
  const child = spawn(process.execPath, [...SERVER_NODE_ARGS, 'server/main.ts'], {
    env: { ...process.env, ...databaseUrl, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info', TALLY_KEY_ENCRYPTION_KEY: KEK, ISSUER: `http://127.0.0.1:${port}` },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let log = ''
  child.stdout.on('data', (chunk) => { log += chunk })
  child.stderr.on('data', (chunk) => { log += chunk })
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}: ${log}`)
    return log.includes('Server listening')
  }, { timeoutMs: 60_000, what: 'the server to listen' })
  const health = await fetch(`http://127.0.0.1:${port}/healthz`)
  t.equal(health.status, 200, 'the server answers before SIGTERM')
  child.kill('SIGTERM')
  await waitFor(() => child.exitCode !== null || child.signalCode !== null, { timeoutMs: 30_000, what: 'the server to exit after SIGTERM' })
  t.equal(child.exitCode, 0, 'exit code 0')
  t.match(log, /shutting down/)
  t.notMatch(log, /tly_[A-Za-z0-9_-]{43}/, 'no secret in the logs')
})
