// Child processes for the servers under test: the compiled Tally (dist built privately under
// node_modules/.cache, so the bench never touches the shared dist/) and oidc-provider. Every child is
// killed on exit, on SIGINT and on failure: the bench leaves no server running.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'

export const ROOT = resolve(import.meta.dirname, '..', '..')
export const BUILD_DIR = join(ROOT, 'node_modules', '.cache', 'tally-bench', 'dist')

const children = new Set<ChildProcess>()

function killAll (): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
}
process.on('exit', killAll)

/**
 * Compiles server/, migrations/, packages/verifier/ and scripts/ with the project's tsconfig into BUILD_DIR. By
 * default from the working tree; with BENCH_REF=<commit> from that commit (git archive), so a run measures
 * a defined version even while others edit the tree (scripts/bench itself always comes from the tree).
 * Returns a description of what was built.
 */
export function buildTally (): string {
  const ref = process.env.BENCH_REF
  let project = join(ROOT, 'tsconfig.json')
  let built = 'working tree'
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim()
  try {
    const head = git('rev-parse', '--short', 'HEAD')
    const dirty = git('status', '--porcelain', '--', 'server', 'migrations', 'packages/verifier') !== ''
    built = `working tree at ${head}${dirty ? ' with uncommitted changes in server/, migrations/ or packages/verifier/' : ''}`
  } catch {}
  if (ref !== undefined && ref !== '') {
    const src = join(dirname(BUILD_DIR), 'src')
    rmSync(src, { recursive: true, force: true })
    mkdirSync(src, { recursive: true })
    const commit = git('rev-parse', '--short', ref)
    const paths = ['server', 'migrations', 'packages/verifier', 'tsconfig.json', 'package.json'].filter((p) => git('ls-tree', '--name-only', commit, p) !== '')
    const archive = spawnSync('git', ['archive', '--format=tar', commit, ...paths], { cwd: ROOT, maxBuffer: 1 << 28 })
    spawnSync('tar', ['-x', '-C', src], { input: archive.stdout })
    cpSync(join(ROOT, 'scripts', 'bench'), join(src, 'scripts', 'bench'), { recursive: true })
    project = join(src, 'tsconfig.json')
    built = `commit ${commit} (BENCH_REF=${ref})`
  }
  rmSync(BUILD_DIR, { recursive: true, force: true })
  // The server imports tally-verifier through its package (packages/verifier/dist), which a fresh clone has not built.
  const verifier = spawnSync('npm', ['run', 'build', '--workspace=tally-verifier'], { cwd: ROOT, encoding: 'utf8' })
  if (verifier.status !== 0) throw new Error(`verifier build failed:\n${verifier.stdout}${verifier.stderr}`)
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  const out = spawnSync(process.execPath, [tsc, '-p', project, '--outDir', BUILD_DIR, '--noEmitOnError', 'false',
    '--declaration', 'false', '--incremental', 'false'], { cwd: ROOT, encoding: 'utf8' })
  if (!existsSync(join(BUILD_DIR, 'server', 'main.js'))) throw new Error(`build failed:\n${out.stdout}${out.stderr}`)
  // tsc copies no static files: the admin console's, which the server refuses to start without.
  const consoleStatic = join(ref !== undefined && ref !== '' ? join(dirname(BUILD_DIR), 'src') : ROOT, 'server', 'console', 'static')
  if (existsSync(consoleStatic)) cpSync(consoleStatic, join(BUILD_DIR, 'server', 'console', 'static'), { recursive: true })
  // Type errors in files being edited by others do not stop the emit; they are shown, not fatal.
  if (out.status !== 0) process.stderr.write(`bench: tsc reported errors (emitted anyway):\n${out.stdout.split('\n').slice(0, 10).join('\n')}\n`)
  return built
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export interface Server {
  name: string
  url: string
  pid: number
  child: ChildProcess
  /** The last lines the child wrote on stderr (for error messages). */
  stderr: () => string
  stop: () => Promise<void>
}

export interface StartOptions {
  name: string
  script: string
  env: Record<string, string>
  nodeArgs?: string[]
  port: number
  /** A GET path that answers 200 once the server is ready. */
  readyPath: string
  readyMethod?: 'GET' | 'POST'
}

export async function startServer (options: StartOptions): Promise<Server> {
  const env: Record<string, string | undefined> = { ...process.env, ...options.env }
  delete env.NODE_OPTIONS // tsx may set a loader here; the servers run compiled JS
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let tail = ''
  const keep = (chunk: Buffer): void => { tail = (tail + chunk.toString()).slice(-4000) }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const url = `http://127.0.0.1:${options.port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${options.name} exited with ${child.exitCode}:\n${tail}`)
    try {
      const res = await fetch(url + options.readyPath, { method: options.readyMethod ?? 'GET' })
      await res.arrayBuffer()
      if (res.status < 500) break
    } catch {}
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`${options.name} did not become ready:\n${tail}`) }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null) { children.delete(child); return }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
    children.delete(child)
  }
  return { name: options.name, url, pid: child.pid as number, child, stderr: () => tail, stop }
}

export function tempDir (prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix))
}
