// The `tally` command (docs/reference/review.md) against Tally listening on a real port: the README
// walk-through end to end, tables and --json, the server's error and a non-zero exit on failure. The
// commands run in this process through main() with an environment and output of their own (each run of
// the real binary costs about a second of CPU: tsx and the CLI's modules); the last test runs the real
// binary, for what only it shows (the launcher, the exit code, stdout and stderr as separate streams).
import t from '../support/tap.js'
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ADMIN_SECRET, build, testDataDir, uniqueId } from '../helper.js'
import { main, program } from '../../cli/program.js'

const BIN = join(import.meta.dirname, '../../bin/tally.js')
const app = await build(t)
await app.listen({ port: 0, host: '127.0.0.1' })
const { port } = app.server.address() as { port: number }
const URL_ = `http://127.0.0.1:${port}`
const ADMIN_ENV = { TALLY_URL: URL_, TALLY_CLIENT_ID: 'admin', TALLY_CLIENT_SECRET: ADMIN_SECRET }

interface Run { code: number, stdout: string, stderr: string }

/** `tally <args>` with only `env` for an environment, as a fresh process would have it. */
async function tally (args: string[], env: Record<string, string> = ADMIN_ENV): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const code = await main(['node', 'tally', ...args], { env, stdout: (text) => { stdout += text }, stderr: (text) => { stderr += text } })
  return { code, stdout, stderr }
}

/** The real binary, in a process of its own. */
async function tallyBinary (args: string[], env: Record<string, string>): Promise<Run> {
  return await new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr })
    })
  })
}

async function json (args: string[], env?: Record<string, string>): Promise<any> {
  const r = await tally([...args, '--json'], env)
  if (r.code !== 0) throw new Error(`tally ${args.join(' ')}: exit ${r.code}: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

t.test('the README walk-through, as tally commands', async (t) => {
  const api = `https://${uniqueId('orders')}.example.test`
  const worker = uniqueId('billing-worker')
  const resource = await json(['resources', 'create', api, '--scopes', 'orders:read,orders:write'])
  t.strictSame([resource.identifier, resource.scopes], [api, ['orders:read', 'orders:write']], 'resources create')
  const identity = await json(['identities', 'create', worker, '--kind', 'service_account'])
  t.strictSame([identity.client_id, identity.kind, identity.epoch], [worker, 'service_account', 1], 'identities create')

  const secret = await tally(['secrets', 'create', worker])
  t.match(secret, { code: 0, stdout: /^tly_[A-Za-z0-9_-]+\n$/, stderr: /this is the only time the secret is shown/ }, 'secrets create prints the secret alone on stdout')
  const clientSecret = secret.stdout.trim()

  const entitlement = await json(['entitlements', 'add', worker, '--resource', api, '--scopes', 'orders:read,orders:write', '--reason', 'billing'])
  t.strictSame([entitlement.resource, entitlement.scopes, entitlement.reason], [api, ['orders:read', 'orders:write'], 'billing'], 'entitlements add')

  const workerEnv = { TALLY_URL: URL_, TALLY_CLIENT_ID: worker, TALLY_CLIENT_SECRET: clientSecret }
  const got = await tally(['token', 'get', '--resource', api, '--scope', 'orders:read'], workerEnv)
  t.equal(got.code, 0, 'token get')
  const token = got.stdout.trim()
  const decoded = await json(['token', 'decode', token], {})
  t.strictSame([decoded.header.typ, decoded.payload.sub, decoded.payload.aud, decoded.payload.scope, decoded.payload.epoch], ['at+jwt', identity.id, api, 'orders:read', 1], 'token decode needs no server')
  const active = await json(['token', 'introspect', token])
  t.strictSame([active.active, active.sub, active.scope], [true, identity.id, 'orders:read'], 'token introspect: active')

  const findings = await json(['review', '--identity', worker])
  t.strictSame(findings.map((f: any) => [f.kind, f.entitlement_id, f.scopes, f.last_used_at]), [['unused_scope', entitlement.id, ['orders:write'], null]], 'review: the unused scope')
  const human = await tally(['review', '--identity', worker])
  t.match(human.stdout, new RegExp(`^KIND +IDENTITY +WHAT +ID +LAST_USED_AT +SINCE\nunused_scope +${worker} +${api} orders:write +${entitlement.id} +never +`), 'review as a table')

  const narrowed = await json(['entitlements', 'remove-scope', worker, entitlement.id, 'orders:write'])
  t.strictSame([narrowed.epoch, narrowed.items.map((e: any) => e.scopes)], [2, [['orders:read']]], 'remove-scope bumps the epoch')
  t.strictSame(await json(['token', 'introspect', token]), { active: false }, 'the old token is no longer active')

  const shown = await tally(['identities', 'show', worker])
  t.match(shown.stdout, /^id: +[0-9a-f-]{36}\nclient_id: +\S+\n/, 'identities show: key: value lines')
  t.match(shown.stdout, /\nentitlements:\nID +RESOURCE +SCOPES +CONDITIONS +EXPIRES_AT +LAST_USED_AT\n/, 'then an entitlements table')

  const sessions = await json(['sessions', worker])
  t.strictSame(sessions.map((s: any) => [s.scope, s.stale]), [['orders:read', true]], 'sessions: the old one is stale')
  t.strictSame(await json(['revoke-sessions', worker, '--reason', 'rotation']), { epoch: 3 }, 'revoke-sessions')
})

t.test('failures: the server\'s error on stderr, a non-zero exit', async (t) => {
  t.strictSame(await tally(['identities', 'show', 'nobody-at-all']), { code: 1, stdout: '', stderr: 'tally: 404 not_found: identity not found\n' }, 'unknown identity')
  t.strictSame(await tally(['identities', 'list'], { TALLY_URL: URL_, TALLY_CLIENT_ID: 'admin', TALLY_CLIENT_SECRET: 'tly_wrong' }),
    { code: 1, stdout: '', stderr: 'tally: 401 invalid_client: client authentication failed\n' }, 'wrong secret')
  t.strictSame(await tally(['review', '--days', '401']), { code: 1, stdout: '', stderr: 'tally: 400 invalid_request: days must be an integer from 1 to 400\n' }, 'the server validates days')
  const none = await tally(['identities', 'list'], { TALLY_URL: URL_ })
  t.match(none, { code: 1, stderr: /^tally: no credentials: set TALLY_CLIENT_ID and TALLY_CLIENT_SECRET/ }, 'no credentials')
  const usage = await tally(['entitlements', 'add', 'x'])
  t.match(usage, { code: 2, stderr: /required option '--resource <identifier>' not specified/ }, 'a usage error exits 2')
})

t.test('--bootstrap-file, and --help on every command', async (t) => {
  const dir = testDataDir()
  const file = join(dir, 'bootstrap-admin.json')
  writeFileSync(file, JSON.stringify({ client_id: 'admin', client_secret: ADMIN_SECRET }), { mode: 0o600 })
  const listed = await json(['identities', 'list', '--kind', 'admin', '--bootstrap-file', file], { TALLY_URL: URL_ })
  t.ok(listed.some((i: any) => i.client_id === 'admin'), 'credentials from the bootstrap file')
  const help = await tally(['entitlements', 'remove-scope', '--help'], {})
  t.match(help, { code: 0, stdout: /^Usage: tally entitlements remove-scope \[options\] <identity> <entitlement> <scopes\.\.\.>\n/ }, 'help of a subcommand')
  const missing: string[] = []
  const walk = (cmd: ReturnType<typeof program>, path: string): void => {
    for (const sub of cmd.commands) {
      if (sub.description() === '' || !sub.helpInformation().startsWith(`Usage: ${path} ${sub.name()}`)) missing.push(`${path} ${sub.name()}`)
      walk(sub, `${path} ${sub.name()}`)
    }
  }
  walk(program(), 'tally')
  t.strictSame(missing, [], 'every command and subcommand has a description and help')
})

t.test('the real binary: the launcher runs the program; exit codes and the two streams are the process\'s', async (t) => {
  const worker = uniqueId('binary-worker')
  t.equal((await tally(['identities', 'create', worker, '--kind', 'service_account'])).code, 0, 'an identity to give a secret')
  const secret = await tallyBinary(['secrets', 'create', worker], ADMIN_ENV)
  t.match(secret, { code: 0, stdout: /^tly_[A-Za-z0-9_-]+\n$/, stderr: /this is the only time the secret is shown/ }, 'secrets create: the secret alone on stdout, the notice on stderr')
  t.strictSame(await tallyBinary(['identities', 'show', 'nobody-at-all'], ADMIN_ENV), { code: 1, stdout: '', stderr: 'tally: 404 not_found: identity not found\n' }, 'a server error: exit 1')
  t.match(await tallyBinary(['entitlements', 'add', 'x'], ADMIN_ENV), { code: 2, stderr: /required option '--resource <identifier>' not specified/ }, 'a usage error: exit 2')
  t.match(await tallyBinary(['--help'], {}), { code: 0, stdout: /^Usage: tally \[options\] \[command\]\n/ }, '--help on stdout, exit 0')
})
