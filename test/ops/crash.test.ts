// A process killed (SIGKILL) in the middle of revocations never loses one it acknowledged: Tally answers
// 200 only after the revocation has committed (issue 6). Runs a real server process, kills it, starts
// another on the same database and checks every acknowledged revocation is still in force.
import t from '../support/tap.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { ADMIN_SECRET, KEK, basic, FORM_TYPE, freePort, privateSchemaUrl, SERVER_NODE_ARGS, testDataDir } from '../helper.js'
import { migratedDataDir } from '../support/pglite-template.js'
import { waitFor } from '../support/wait.js'

async function startServer (env: Record<string, string>): Promise<{ child: ChildProcess, url: string }> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, [...SERVER_NODE_ARGS, 'server/main.ts'], {
    env: { ...process.env, ...env, PORT: String(port), ISSUER: url, LOG_LEVEL: 'warn', TALLY_KEY_ENCRYPTION_KEY: KEK, TALLY_BOOTSTRAP_ADMIN_SECRET: ADMIN_SECRET },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let stderr = ''
  child.stderr?.on('data', (chunk) => { stderr += chunk })
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`server exited: ${stderr}`)
    try { return (await fetch(`${url}/readyz`)).status === 200 } catch { return false }
  }, { timeoutMs: 60_000, intervalMs: 50, what: `the server to be ready (${stderr})` })
  return { child, url }
}

const post = async (url: string, path: string, params: Record<string, string>): Promise<Response> => await fetch(`${url}${path}`, {
  method: 'POST', headers: { authorization: basic('admin', ADMIN_SECRET), 'content-type': FORM_TYPE }, body: new URLSearchParams(params).toString()
})

const exited = (c: ChildProcess): boolean => c.exitCode !== null || c.signalCode !== null
const exit = async (c: ChildProcess): Promise<void> => { if (!exited(c)) await new Promise((resolve) => c.once('exit', resolve)) }

t.test('revocations acknowledged before a SIGKILL survive it', async (t) => {
  // On PGlite a copy of the migrated template to start from (test/ops/shutdown.test.ts starts a server on
  // an empty DATA_DIR); on Postgres the database is a private schema and DATA_DIR holds nothing of it.
  const env: Record<string, string> = process.env.DATABASE_URL === undefined
    ? { DATA_DIR: await migratedDataDir() }
    : { DATA_DIR: testDataDir(), DATABASE_URL: await privateSchemaUrl(t, process.env.DATABASE_URL) }
  let server = await startServer(env)
  t.teardown(async () => {
    server.child.kill('SIGKILL')
    await exit(server.child)
    rmSync(env.DATA_DIR as string, { recursive: true, force: true })
  })

  const tokens: string[] = []
  for (let i = 0; i < 40; i++) {
    const res = await post(server.url, '/token', { grant_type: 'client_credentials', resource: 'urn:tally:admin', scope: 'admin:read' })
    tokens.push(((await res.json()) as { access_token: string }).access_token)
  }
  // Fire every revocation at once and kill the process as soon as the tenth is acknowledged.
  const acknowledged: string[] = []
  let killed = false
  await Promise.allSettled(tokens.map(async (token) => {
    const res = await post(server.url, '/revoke', { token })
    if (res.status === 200 && !killed) {
      acknowledged.push(token)
      if (acknowledged.length === 10) { killed = true; server.child.kill('SIGKILL') }
    }
  }))
  t.ok(acknowledged.length >= 10, `${acknowledged.length} revocations were acknowledged before the kill`)
  await exit(server.child)

  server = await startServer(env)
  const stillActive: string[] = []
  for (const token of acknowledged) {
    const body = await (await post(server.url, '/introspect', { token })).json()
    if (JSON.stringify(body) !== '{"active":false}') stillActive.push(JSON.stringify(body))
  }
  t.strictSame(stillActive, [], 'every acknowledged revocation is still in force after the restart')
})
