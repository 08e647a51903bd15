// npm run bench — Tally side by side with node-oidc-provider on this machine (issue 5).
//
//   npm run bench                      compare /token and /introspect, verifier checks/s (≈ 3–4 min)
//   npm run bench -- --profile         also: CPU profile + database round trips per request, per endpoint
//   npm run bench -- --growth          also: cost growth, 1k vs 1M identities and a large sessions table
//   npm run bench -- --no-compare …    skip the side-by-side comparison (and the jwt-bearer row)
//   npm run bench -- --no-compare --jwt-bearer    only the jwt-bearer row beside client_credentials
//   npm run bench -- --no-compare --token-exchange    only the token-exchange row beside client_credentials
//   BENCH_DURATION_S=3 BENCH_RUNS=1 npm run bench     a quick run
//
// Other knobs: BENCH_CONNECTIONS (50), BENCH_WARMUP_S (3), BENCH_CLIENTS (1000), BENCH_VERIFY_S (2),
// BENCH_TALLY_WORKERS (1; >1 runs the bench's cluster prototype), BENCH_REF (a commit to build instead of the working tree), BENCH_GROWTH_IDENTITIES (1000000),
// BENCH_GROWTH_SESSIONS (10000000), BENCH_GROWTH_BUDGET_S (300), BENCH_DATABASE_URL (else DATABASE_URL,
// else postgres://postgres@127.0.0.1:5432/test). Everything listens on 127.0.0.1 only; every server
// started here is stopped and every schema created here is dropped before the process exits.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import type { JWK } from 'jose'
import { JWT_RESOURCE, OPAQUE_RESOURCE, RS_CLIENT_ID, RS_CLIENT_SECRET } from './fixtures.js'
import { introspectOnce, introspectRequests, issueTokens, tokenRequests } from './requests.js'
import { runLoad, type BenchRequest, type RunResult } from './load.js'
import { BUILD_DIR, buildTally, freePort, startServer, type Server } from './servers.js'
import { backendPids, createDeployment, seedTally, startTally, type TallyDeployment } from './tally.js'
import { benchVerify, type VerifyRow } from './verify-bench.js'
import { mintTokens } from './mint.js'
import { runGrowth, type GrowthResult } from './growth.js'
import { runProfile, type ProfileResult } from './profile.js'
import { log, settings } from './settings.js'
import { benchJwtBearer, jwtBearerTable } from './jwt-bearer.js'
import { benchTokenExchange, twoHopToken } from './token-exchange.js'
import type { GrantRow } from './grant-rows.js'


type Endpoint = '/token' | '/introspect'
type Peer = 'tally' | 'oidc-provider'

interface Aggregate {
  endpoint: Endpoint
  peer: Peer
  runs: RunResult[]
  note?: string
}

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[mid] as number : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}
const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)
const fmt = (n: number, digits = 0): string => Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a'

/** CPU microseconds per request, the server's own plus its Postgres backends' (robust to background load). */
function cpuPerRequest (row: Aggregate): number {
  const cpu = row.runs.reduce((a, r) => a + (r.serverCores + r.dbCores) * r.total / r.reqPerS, 0)
  const requests = row.runs.reduce((a, r) => a + r.total, 0)
  return cpu / requests * 1e6
}

function compareTable (rows: Aggregate[]): string {
  const lines = [
    '| endpoint | server | req/s (median) | runs req/s | p50 ms | p99 ms | non-2xx | server CPU (cores) | its Postgres CPU (cores) | CPU µs/req (server + Postgres) | peak RSS MB | Tally/peer req/s | Tally/peer by CPU cost |',
    '|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
  ]
  for (const endpoint of ['/token', '/introspect'] as const) {
    const tally = rows.find((r) => r.endpoint === endpoint && r.peer === 'tally')
    const peer = rows.find((r) => r.endpoint === endpoint && r.peer === 'oidc-provider')
    for (const row of [tally, peer]) {
      if (row === undefined) continue
      if (row.runs.length === 0) { lines.push(`| ${endpoint} | ${row.peer} | n/a | ${row.note ?? ''} | | | | | | | | | |`); continue }
      const rps = median(row.runs.map((r) => r.reqPerS))
      let ratio = ''
      let costRatio = ''
      if (row.peer === 'tally' && peer !== undefined && peer.runs.length > 0) {
        ratio = `**${fmt(rps / median(peer.runs.map((r) => r.reqPerS)), 2)}×**`
        costRatio = `${fmt(cpuPerRequest(peer) / cpuPerRequest(row), 2)}×`
      }
      lines.push(`| ${endpoint} | ${row.peer} | ${fmt(rps)} | ${row.runs.map((r) => fmt(r.reqPerS)).join(' / ')} | ${fmt(median(row.runs.map((r) => r.p50Ms)), 1)} | ${fmt(median(row.runs.map((r) => r.p99Ms)), 1)} | ${fmt(row.runs.reduce((a, r) => a + r.non2xx, 0))} | ${fmt(mean(row.runs.map((r) => r.serverCores)), 2)} | ${row.peer === 'tally' ? fmt(mean(row.runs.map((r) => r.dbCores)), 2) : '—'} | ${fmt(cpuPerRequest(row))} | ${fmt(Math.max(...row.runs.map((r) => r.peakRssMb)))} | ${ratio} | ${costRatio} |`)
    }
  }
  const all = rows.flatMap((r) => r.runs)
  lines.push('', `Load generator (autocannon, in the bench process): ${fmt(mean(all.map((r) => r.loadgenCores)), 2)} cores on average; whole machine busy: ${fmt(mean(all.map((r) => r.machineCores)), 2)} of ${cpus().length} cores, of which ${fmt(mean(all.map((r) => r.otherCores)), 2)} by processes outside the bench (background noise; worst run ${fmt(Math.max(...all.map((r) => r.otherCores)), 2)}).`)
  return lines.join('\n')
}

function verifyTable (rows: VerifyRow[]): string {
  const jose = (mode: string): number | null | undefined => rows.find((r) => r.name === 'jose jwtVerify' && r.tokens === mode)?.checksPerS
  const lines = ['| verifier | tokens | checks/s (1 thread) | CPU µs/check (process) | vs jose jwtVerify |', '|---|---|---:|---:|---:|']
  for (const r of rows) {
    const base = jose(r.tokens)
    const ratio = r.checksPerS !== null && base != null ? `${fmt(r.checksPerS / base, 2)}×` : ''
    const cpu = r.cpuUsPerCheck === undefined ? '' : fmt(r.cpuUsPerCheck, r.cpuUsPerCheck < 10 ? 2 : 1)
    lines.push(`| ${r.name} | ${r.tokens} | ${r.checksPerS === null ? `n/a — ${r.note ?? ''}` : fmt(r.checksPerS)} | ${cpu} | ${ratio} |`)
  }
  return lines.join('\n')
}

/** Every issue-16 target in one table: each grant and endpoint against oidc-provider's JWT client_credentials, the verifier rows, RSS. */
function targetsTable (report: Record<string, unknown>): string {
  const compare = report.compare as Aggregate[]
  const peer = (endpoint: Endpoint): Aggregate | undefined => compare.find((r) => r.endpoint === endpoint && r.peer === 'oidc-provider')
  const tallyRow = (endpoint: Endpoint): Aggregate | undefined => compare.find((r) => r.endpoint === endpoint && r.peer === 'tally')
  const rps = (runs: RunResult[]): number => median(runs.map((r) => r.reqPerS))
  const cost = (runs: RunResult[]): number => cpuPerRequest({ endpoint: '/token', peer: 'tally', runs })
  const peerToken = peer('/token')
  const lines = ['| row | Tally | reference | ratio (req/s) | ratio (by CPU µs/req) | target | met |', '|---|---:|---:|---:|---:|---|---|']
  const add = (name: string, runs: RunResult[] | undefined, ref: Aggregate | undefined, target: number): void => {
    if (runs === undefined || runs.length === 0 || ref === undefined || ref.runs.length === 0) { lines.push(`| ${name} | n/a | | | | ≥ ${target.toFixed(1)}× | |`); return }
    const ratio = rps(runs) / rps(ref.runs)
    lines.push(`| ${name} | ${fmt(rps(runs))} req/s, ${fmt(cost(runs))} µs | ${fmt(rps(ref.runs))} req/s, ${fmt(cost(ref.runs))} µs | ${fmt(ratio, 2)}× | ${fmt(cost(ref.runs) / cost(runs), 2)}× | ≥ ${target.toFixed(1)}× | ${ratio >= target ? 'yes' : 'no'} |`)
  }
  add('/token client_credentials vs oidc-provider /token', tallyRow('/token')?.runs, peerToken, 2.0)
  add('/introspect vs oidc-provider /introspect', tallyRow('/introspect')?.runs, peer('/introspect'), 2.0)
  const grant = (rows: unknown, prefix: string): RunResult[] | undefined => (rows as GrantRow[] | undefined)?.find((r) => r.grant.startsWith(prefix))?.runs
  add('jwt-bearer vs oidc-provider /token', grant(report.jwtBearer, 'jwt-bearer'), peerToken, 1.5)
  add('token exchange (one hop) vs oidc-provider /token', grant(report.tokenExchange, 'token-exchange'), peerToken, 1.2)
  const verify = (report.verify ?? []) as VerifyRow[]
  const row = (name: string, tokens: string): VerifyRow | undefined => verify.find((r) => r.name === name && r.tokens === tokens)
  const tallyNew = row('Tally verifier', 'new')
  const floor = row('node:crypto verify (async, thread pool) + claims', 'new')
  const delegated = row('Tally verifier', 'new, delegated (two hops)')
  // The cost ratio: the reference's CPU per check over ours (above 1 means we spend less), as for the servers.
  const byCpu = (ours: VerifyRow, ref: VerifyRow): string => ours.cpuUsPerCheck !== undefined && ref.cpuUsPerCheck !== undefined ? `${fmt(ref.cpuUsPerCheck / ours.cpuUsPerCheck, 2)}×` : ''
  const checks = (r: VerifyRow): string => `${fmt(r.checksPerS as number)} checks/s${r.cpuUsPerCheck === undefined ? '' : `, ${fmt(r.cpuUsPerCheck, 1)} µs`}`
  if (tallyNew?.checksPerS != null && floor?.checksPerS != null) {
    const ratio = tallyNew.checksPerS / floor.checksPerS
    lines.push(`| verifier, new token vs bare crypto.verify (thread pool) + claims | ${checks(tallyNew)} | ${checks(floor)} | ${fmt(ratio, 2)}× | ${byCpu(tallyNew, floor)} | ≥ 0.9× | ${ratio >= 0.9 ? 'yes' : 'no'} |`)
  }
  if (tallyNew?.checksPerS != null && delegated?.checksPerS != null) {
    const cost = tallyNew.checksPerS / delegated.checksPerS
    const cpuCost = delegated.cpuUsPerCheck !== undefined && tallyNew.cpuUsPerCheck !== undefined ? `${fmt(delegated.cpuUsPerCheck / tallyNew.cpuUsPerCheck, 2)}× the cost` : ''
    lines.push(`| verifier, delegated two-hop token: cost vs a plain new token | ${checks(delegated)} | ${checks(tallyNew)} | ${fmt(cost, 2)}× the cost | ${cpuCost} | ≤ 1.1× | ${cost <= 1.1 ? 'yes' : 'no'} |`)
  }
  const rss = Math.max(...compare.filter((r) => r.peer === 'tally').flatMap((r) => r.runs.map((x) => x.peakRssMb)))
  lines.push(`| peak RSS (Tally, throughput runs) | ${fmt(rss)} MB | | | | < 200 MB | ${rss < 200 ? 'yes' : 'no'} |`)
  return lines.join('\n')
}

function machine (): string {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown'
  return `${cpus().length} cores (nproc), ${model}, ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}`
}

async function startOidc (): Promise<Server> {
  const port = await freePort()
  return await startServer({
    name: 'oidc-provider',
    script: join(BUILD_DIR, 'scripts', 'bench', 'oidc-server.js'),
    port,
    readyPath: '/.well-known/openid-configuration',
    env: { PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, BENCH_CLIENTS: String(settings.clients), NODE_ENV: 'production' }
  })
}

async function compare (tally: Server, oidc: Server, dep: TallyDeployment): Promise<Aggregate[]> {
  const results: Aggregate[] = []
  const servers: Record<Peer, Server> = { tally, 'oidc-provider': oidc }
  const dbPids = { tally: async () => await backendPids(dep), 'oidc-provider': undefined }

  // Sanity: both servers issue; both introspections say active for their own tokens.
  const [tallyProbe] = await issueTokens(tally.url, 1, settings.clients)
  await issueTokens(oidc.url, 1, settings.clients)
  const tallyIntrospect = await introspectOnce(tally.url, tallyProbe as string)
  const tallyHasIntrospect = tallyIntrospect.status !== 404
  if (tallyHasIntrospect && tallyIntrospect.body.active !== true) throw new Error(`Tally /introspect did not accept its own token: ${tallyIntrospect.status} ${JSON.stringify(tallyIntrospect.body)}`)

  for (const endpoint of ['/token', '/introspect'] as const) {
    const peers: Peer[] = ['tally', 'oidc-provider']
    const agg: Record<Peer, Aggregate> = {
      tally: { endpoint, peer: 'tally', runs: [] },
      'oidc-provider': { endpoint, peer: 'oidc-provider', runs: [] }
    }
    if (endpoint === '/introspect' && !tallyHasIntrospect) agg.tally.note = 'POST /introspect not implemented yet (404)'
    const active = peers.filter((p) => !(p === 'tally' && agg.tally.note !== undefined))
    const next: Partial<Record<Peer, () => BenchRequest>> = {}
    for (const p of active) {
      if (endpoint === '/token') next[p] = tokenRequests(settings.clients)
      else {
        // oidc-provider's memory adapter is an LRU of 1000 entries: its pool must stay below that.
        const pool = await issueTokens(servers[p].url, p === 'tally' ? 2000 : 500, settings.clients, p === 'tally' ? JWT_RESOURCE : OPAQUE_RESOURCE)
        const check = await introspectOnce(servers[p].url, pool[pool.length - 1] as string)
        if (check.body.active !== true) throw new Error(`${p} /introspect says inactive for a fresh token: ${JSON.stringify(check.body)}`)
        next[p] = introspectRequests(pool)
      }
      log(`${endpoint} ${p}: warm-up ${settings.warmupS} s`)
      await runLoad({ url: servers[p].url, connections: settings.connections, durationS: settings.warmupS, next: next[p] as () => BenchRequest, serverPid: servers[p].pid })
    }
    for (let run = 0; run < settings.runs; run++) {
      // Alternate which server goes first, so drift (thermal, background work) hits both alike.
      const order = run % 2 === 0 ? active : [...active].reverse()
      for (const p of order) {
        const r = await runLoad({ url: servers[p].url, connections: settings.connections, durationS: settings.durationS, next: next[p] as () => BenchRequest, serverPid: servers[p].pid, dbPids: dbPids[p] })
        agg[p].runs.push(r)
        log(`${endpoint} ${p} run ${run + 1}: ${fmt(r.reqPerS)} req/s, p99 ${fmt(r.p99Ms, 1)} ms, non-2xx ${r.non2xx}, server ${fmt(r.serverCores, 2)} cores, db ${fmt(r.dbCores, 2)}, rss ${fmt(r.peakRssMb)} MB, other load ${fmt(r.otherCores, 2)} cores`)
      }
    }
    if (endpoint === '/introspect' && tallyHasIntrospect) {
      // The pool must still be active after the runs (no silent active:false counted as throughput).
      const again = await introspectOnce(tally.url, tallyProbe as string)
      if (again.body.active !== true) log('warning: Tally probe token inactive after the runs')
    }
    results.push(agg.tally, agg['oidc-provider'])
  }
  return results
}

async function main (): Promise<void> {
  const started = Date.now()
  log(`machine: ${machine()}`)
  log('building Tally into node_modules/.cache/tally-bench/dist')
  const built = buildTally()
  log(`built ${built}`)
  const report: Record<string, unknown> = { machine: machine(), settings, built }
  const sections: string[] = []

  if (settings.compare || settings.profile || settings.jwtBearer || settings.tokenExchange) {
    const dep = await createDeployment('bench')
    const pgVersion = (await dep.admin.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]?.v
    report.postgres = pgVersion
    log(`Postgres ${pgVersion}, schema ${dep.schema}`)
    let tally: Server | undefined
    let oidc: Server | undefined
    try {
      tally = await startTally(dep, { workers: settings.tallyWorkers })
      await seedTally(dep, { identities: settings.clients, hashed: settings.clients })
      if (settings.compare) {
        oidc = await startOidc()
        const rows = await compare(tally, oidc, dep)
        await oidc.stop()
        oidc = undefined
        report.compare = rows
        const variant = [settings.tallyWorkers > 1 ? `PROTOTYPE ${settings.tallyWorkers} Tally workers (node:cluster)` : ''].filter(Boolean).join(', ')
        sections.push(`### Throughput, ${settings.connections} connections, ${settings.runs} × ${settings.durationS} s per server, alternating${variant === '' ? '' : ` — Tally with ${variant}`}\n\n${compareTable(rows)}`)

        log('verifier checks/s')
        const issued = await issueTokens(tally.url, 200, settings.clients)
        const tokens = [...issued, ...await mintTokens(dep, issued[0] as string, 20_000)]
        const freshTokens = await mintTokens(dep, issued[0] as string, 60_000)
        const jwks = await (await fetch(`${tally.url}/.well-known/jwks.json`)).json() as { keys: JWK[] }
        const header = JSON.parse(Buffer.from((tokens[0] as string).split('.')[0] as string, 'base64url').toString()) as { kid: string }
        const jwk = jwks.keys.find((k) => k.kid === header.kid) as JWK
        const delegatedTokens = await mintTokens(dep, await twoHopToken(tally, dep), 60_000)
        const verifyRows = await benchVerify({
          tokens,
          freshTokens,
          delegatedTokens,
          jwk,
          issuer: tally.url,
          audience: JWT_RESOURCE,
          durationS: settings.verifyS,
          verifierOptions: { issuer: tally.url, audience: JWT_RESOURCE, clientId: RS_CLIENT_ID, clientSecret: RS_CLIENT_SECRET }
        })
        report.verify = verifyRows
        sections.push(`### Local verification (${settings.verifyS} s per row, 64 checks in flight)\n\n${verifyTable(verifyRows)}`)
      }
      if (settings.jwtBearer) {
        log('jwt-bearer beside client_credentials')
        const rows = await benchJwtBearer(tally, dep)
        report.jwtBearer = rows
        sections.push(`### /token by grant, ${settings.connections} connections, ${settings.runs} × ${settings.durationS} s, alternating\n\n${jwtBearerTable(rows)}`)
      }
      if (settings.tokenExchange) {
        log('token-exchange beside client_credentials')
        const rows = await benchTokenExchange(tally, dep)
        report.tokenExchange = rows
        sections.push(`### /token: RFC 8693 token exchange, ${settings.connections} connections, ${settings.runs} × ${settings.durationS} s, alternating\n\n${jwtBearerTable(rows)}`)
      }
      await tally.stop()
      tally = undefined
      if (settings.profile) {
        const profile: ProfileResult[] = await runProfile(dep, settings)
        report.profile = profile
        sections.push(profile.map((p) => p.text).join('\n\n'))
      }
    } finally {
      await oidc?.stop()
      await tally?.stop()
      await dep.drop()
    }
  }

  if (report.postgres === undefined) {
    const dep = await createDeployment('version')
    report.postgres = (await dep.admin.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]?.v
    await dep.drop()
  }
  if (settings.growth) {
    const growth: GrowthResult = await runGrowth(settings)
    report.growth = growth
    sections.push(growth.text)
  }

  if (report.compare !== undefined) sections.push(`### Targets (issue 16), this run\n\n${targetsTable(report)}`)

  const out = join(dirname(BUILD_DIR), 'last-run.json')
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, JSON.stringify(report, null, 2))
  process.stdout.write(`\n## Tally bench — ${new Date().toISOString()}\n\nMachine: ${machine()}, Postgres ${String(report.postgres ?? '?')}\nTally: ${built}\n\n${sections.join('\n\n')}\n\n(raw results: ${out}; took ${fmt((Date.now() - started) / 1000)} s)\n`)
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`bench: failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
