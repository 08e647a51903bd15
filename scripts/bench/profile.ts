// --profile: what bounds each Tally endpoint. A fresh Tally per endpoint under `node --cpu-prof`, with
// count-queries.cjs preloaded to count database round trips; one measured load run after a warm-up.
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { summariseProfile, type ProfileSummary } from './cpu-profile.js'
import { runLoad, type BenchRequest, type RunResult } from './load.js'
import { introspectOnce, introspectRequests, issueTokens, tokenRequests } from './requests.js'
import { ROOT, tempDir } from './servers.js'
import { log, type Settings } from './settings.js'
import { exchangeRequests } from './token-exchange.js'
import { jwtBearerRequests } from './jwt-bearer.js'
import { backendPids, startTally, type TallyDeployment } from './tally.js'

export interface ProfileResult {
  endpoint: string
  run?: RunResult
  queriesPerRequest?: Record<string, number>
  summary?: ProfileSummary
  text: string
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`

// Functions whose inclusive time says where a request's CPU goes.
const INTERESTING = /^(signJwt|authenticateCallerAndReadToken|decideExchange|checkSubjectToken|preCheckAccessToken|evaluateAccessToken|loadClient|checkAccessToken|authenticateClient|presentedCredentials|hashSecret|tokenDigest|parseForm|parseAccessToken|handler|token|introspect\w*|write|#?drain|sign|verify|compileQuery|executeQuery|runQuery|query|handleDataRow|parseRow|parse|stringify|serialize\w*|onRequest|preHandler\w*|requireForm|noStore|wrapReplySend|onSendEnd|\(garbage collector\)|processTicksAndRejections|emit) /

export async function runProfile (dep: TallyDeployment, settings: Settings): Promise<ProfileResult[]> {
  const out: ProfileResult[] = []
  const endpoints = ['/token', '/introspect', ...(settings.jwtBearer ? ['/token (jwt-bearer)'] : []), ...(settings.tokenExchange ? ['/token (token exchange)'] : [])]
  for (const endpoint of endpoints) {
    const dir = tempDir('tally-bench-prof-')
    const queryLog = join(dir, 'queries.json')
    const tally = await startTally(dep, {
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--require', join(ROOT, 'scripts', 'bench', 'count-queries.cjs')],
      env: { BENCH_QUERY_LOG: queryLog }
    })
    let closePlatform = (): void => {}
    try {
      let next: () => BenchRequest
      if (endpoint === '/token (jwt-bearer)') {
        ({ next, close: closePlatform } = await jwtBearerRequests(tally, dep))
      } else if (endpoint === '/token') {
        next = tokenRequests(settings.clients)
      } else if (endpoint === '/token (token exchange)') {
        next = await exchangeRequests(tally, dep)
      } else {
        const pool = await issueTokens(tally.url, 2000, settings.clients)
        const probe = await introspectOnce(tally.url, pool[0] as string)
        if (probe.status === 404) { out.push({ endpoint, text: `### Profile ${endpoint}\n\nnot implemented yet (404)` }); continue }
        next = introspectRequests(pool)
      }
      log(`profile ${endpoint}: warm-up`)
      await runLoad({ url: tally.url, connections: settings.connections, durationS: settings.warmupS, next, serverPid: tally.pid })
      tally.child.kill('SIGUSR2') // resets the query counts
      await sleep(200)
      const windowStart = Number(process.hrtime.bigint() / 1000n)
      const run = await runLoad({ url: tally.url, connections: settings.connections, durationS: settings.durationS, next, serverPid: tally.pid, dbPids: async () => await backendPids(dep) })
      const windowUs: [number, number] = [windowStart, Number(process.hrtime.bigint() / 1000n)]
      tally.child.kill('SIGUSR2')
      await sleep(300)
      const counts = JSON.parse(readFileSync(queryLog, 'utf8')) as Record<string, number>
      const queriesPerRequest = Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / run.total]))
      await tally.stop() // the profile is written at exit
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
      const summary = file === undefined ? undefined : summariseProfile(join(dir, file), INTERESTING, windowUs)
      rmSync(dir, { recursive: true, force: true })
      const roundTrips = Object.values(queriesPerRequest).reduce((a, b) => a + b, 0)
      const lines = [
        `### Profile ${endpoint} (Tally, --cpu-prof, ${settings.connections} connections, ${settings.durationS} s)`,
        '',
        `${Math.round(run.reqPerS)} req/s under the profiler; Tally ${run.serverCores.toFixed(2)} cores, its Postgres backends ${run.dbCores.toFixed(2)} cores, load generator ${run.loadgenCores.toFixed(2)} cores, machine ${run.machineCores.toFixed(2)} cores busy.`,
        '',
        `Database round trips per request: **${roundTrips.toFixed(3)}**`,
        '',
        '| statement | per request |', '|---|---:|',
        ...Object.entries(queriesPerRequest).slice(0, 8).map(([k, v]) => `| \`${k.replace(/\|/g, '\\|')}\` | ${v.toFixed(3)} |`)
      ]
      if (summary !== undefined) {
        // The budget: the server's CPU per request split by the profile's busy-time shares, plus its Postgres backends'.
        const serverUs = run.serverCores * 1e6 / run.reqPerS
        const dbUs = run.dbCores * 1e6 / run.reqPerS
        lines.push('', `CPU budget per request: ${Math.round(serverUs + dbUs)} µs (Tally ${Math.round(serverUs)} µs by profile share, its Postgres backends ${Math.round(dbUs)} µs; under the profiler).`, '',
          '| line | share of Tally busy time | µs/request |', '|---|---:|---:|',
          ...summary.budget.map((b) => `| ${b.line} | ${pct(b.share)} | ${(b.share * serverUs).toFixed(1)} |`),
          `| Postgres backends (parse/plan/execute, WAL) | — | ${dbUs.toFixed(1)} |`)
        lines.push('', `Main thread idle (waiting on I/O): ${pct(summary.idleShare)} of ${Math.round(summary.totalMs)} ms profiled. Shares below are of busy time.`, '',
          '| category (self time) | share |', '|---|---:|', ...summary.categories.map((c) => `| ${c.name} | ${pct(c.share)} |`), '',
          '| function (self time) | share |', '|---|---:|', ...summary.topSelf.slice(0, 15).map((f) => `| \`${f.fn}\` | ${pct(f.share)} |`), '',
          '| function (inclusive) | share |', '|---|---:|', ...summary.inclusive.slice(0, 18).map((f) => `| \`${f.fn}\` | ${pct(f.share)} |`))
      }
      out.push({ endpoint, run, queriesPerRequest, summary, text: lines.join('\n') })
    } finally {
      closePlatform()
      await tally.stop()
    }
  }
  return out
}
