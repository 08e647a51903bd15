// A Postgres cluster owned by one test: initdb in a temporary directory, started on a free port with
// trust authentication, stopped and started at will (to simulate an outage), always removed at teardown.
// initdb and pg_ctl refuse to run as root, so as root they run as the `postgres` user.
import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { dirname, join } from 'node:path'
import { freePort } from '../helper.js'

export interface TestPostgres {
  url: string
  port: number
  stop: () => void
  start: () => void
  /** SIGSTOP / SIGCONT the cluster's own processes (postmaster and its children): a database that hangs. */
  pause: () => void
  resume: () => void
  /** Stops the cluster if running and removes its directory; safe to call twice. */
  destroy: () => void
}

/** The directory holding initdb and pg_ctl, or undefined when no Postgres server binaries are installed. */
export function findPostgresBin (): string | undefined {
  for (const pkg of ['postgresql-17', 'postgresql-16', 'postgresql-15', 'postgresql-14']) {
    try {
      const listed = execFileSync('dpkg', ['-L', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      const initdb = listed.split('\n').find((line) => line.endsWith('/bin/initdb'))
      if (initdb !== undefined && existsSync(join(dirname(initdb), 'pg_ctl'))) return dirname(initdb)
    } catch {}
  }
  return undefined
}


function postgresUser (): { uid: number, gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
  return { uid, gid }
}

/** initdb + start; resolves once the server accepts connections. */
export async function startTestPostgres (bin: string): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-pg-'))
  const data = join(dir, 'data')
  const asPostgres = postgresUser()
  if (asPostgres !== undefined) {
    chownSync(dir, asPostgres.uid, asPostgres.gid)
    chmodSync(dir, 0o700)
  }
  const run = (tool: string, args: string[]): void => {
    const file = join(bin, tool)
    if (asPostgres !== undefined) execFileSync('runuser', ['-u', 'postgres', '--', file, ...args], { stdio: 'ignore', cwd: dir, timeout: 60_000 })
    else execFileSync(file, args, { stdio: 'ignore', cwd: dir, timeout: 60_000 })
  }
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'])
  const port = await freePort()
  const serverOptions = `-k ${dir} -c listen_addresses=127.0.0.1 -p ${port} -c fsync=off`
  let running = false
  const start = (): void => {
    run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', serverOptions, '-w', '-t', '30', 'start'])
    running = true
  }
  const stop = (): void => {
    run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop'])
    running = false
  }
  // Only this cluster's processes: the postmaster's pid from its pid file, and its children.
  const clusterPids = (): number[] => {
    const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
    const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(postmaster)], { encoding: 'utf8' })
      .split('\n').map((line) => Number(line.trim())).filter((pid) => pid > 0)
    return [postmaster, ...children]
  }
  let paused: number[] = []
  const pause = (): void => {
    paused = clusterPids()
    for (const pid of paused) process.kill(pid, 'SIGSTOP')
  }
  const resume = (): void => {
    for (const pid of paused) { try { process.kill(pid, 'SIGCONT') } catch {} }
    paused = []
  }
  const destroy = (): void => {
    resume()
    if (running) { try { stop() } catch {} }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    start()
  } catch (err) {
    destroy()
    throw err
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, start, stop, pause, resume, destroy }
}
