// --growth: does Tally's cost per request grow with the data? /token and /introspect measured on a small
// deployment (1k identities, few sessions), then again after set-based seeding (generate_series) to 1M
// identities and up to 10M session rows, within a time budget: if the full size does not fit, the largest
// size seeded in time is measured and reported as such.
import { runLoad, type RunResult } from './load.js'
import { introspectRequests, issueTokens, tokenRequests } from './requests.js'
import { log, type Settings } from './settings.js'
import { backendPids, createDeployment, seedTally, startTally, type TallyDeployment } from './tally.js'
import { JWT_RESOURCE } from './fixtures.js'

export interface GrowthPoint { identities: number, sessions: number, token: RunResult[], introspect: RunResult[] }
export interface GrowthResult { points: GrowthPoint[], seedSeconds: Record<string, number>, text: string }

const num = (name: string, fallback: number): number => Number(process.env[name] ?? fallback)
const median = (v: number[]): number => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN }

async function count (dep: TallyDeployment, table: string): Promise<number> {
  const { rows } = await dep.admin.query<{ n: string }>(`select count(*) as n from ${table}`)
  return Number(rows[0]?.n ?? 0)
}

async function measure (dep: TallyDeployment, settings: Settings, runs: number): Promise<{ token: RunResult[], introspect: RunResult[] }> {
  const tally = await startTally(dep)
  try {
    const dbPids = async (): Promise<number[]> => await backendPids(dep)
    const token: RunResult[] = []
    const introspect: RunResult[] = []
    const nextToken = tokenRequests(settings.clients)
    await runLoad({ url: tally.url, connections: settings.connections, durationS: settings.warmupS, next: nextToken, serverPid: tally.pid })
    for (let i = 0; i < runs; i++) token.push(await runLoad({ url: tally.url, connections: settings.connections, durationS: settings.durationS, next: nextToken, serverPid: tally.pid, dbPids }))
    const pool = await issueTokens(tally.url, 2000, settings.clients)
    const probe = await fetch(`${tally.url}/introspect`, { method: 'POST' })
    await probe.arrayBuffer()
    if (probe.status !== 404) {
      const nextIntrospect = introspectRequests(pool)
      await runLoad({ url: tally.url, connections: settings.connections, durationS: settings.warmupS, next: nextIntrospect, serverPid: tally.pid })
      for (let i = 0; i < runs; i++) introspect.push(await runLoad({ url: tally.url, connections: settings.connections, durationS: settings.durationS, next: nextIntrospect, serverPid: tally.pid, dbPids }))
    }
    return { token, introspect }
  } finally {
    await tally.stop()
  }
}

/** Adds filler sessions up to `target` rows within `budgetS`, with the indexes dropped and rebuilt (as a bulk load would). */
async function seedSessions (dep: TallyDeployment, target: number, budgetS: number): Promise<number> {
  const db = dep.admin
  const t0 = Date.now()
  await db.query("set maintenance_work_mem = '1GB'")
  await db.query('set synchronous_commit = off')
  await db.query("create temp table bench_ids as select (row_number() over ()) - 1 as n, id from identities where client_id like 'bench-client-%'")
  await db.query('analyze bench_ids')
  const ids = await count(dep, 'bench_ids')
  const { rows: [res] } = await db.query<{ id: string }>('select id from resources where identifier = $1', [JWT_RESOURCE])
  await db.query('alter table sessions drop constraint sessions_pkey')
  await db.query('drop index sessions_identity_exp')
  await db.query('drop index sessions_exp')
  let have = await count(dep, 'sessions')
  const chunk = 1_000_000
  // Rebuilding three indexes takes about as long as loading the rows: keep ~45% of the budget for it.
  while (have < target && (Date.now() - t0) / 1000 < budgetS * 0.55) {
    const n = Math.min(chunk, target - have)
    await db.query(`insert into sessions (jti, identity_id, epoch, resource_id, scope, iat, exp, credential_id, token_hash, kid)
      select gen_random_uuid(), b.id, 1, $3, 'read write',
        now() - make_interval(secs => (g % 86400) + 300), now() - make_interval(secs => g % 86400), null, sha256(int8send(g)), 'filler'
      from generate_series($1::bigint, $2::bigint) g join bench_ids b on b.n = g % $4`, [have, have + n - 1, res?.id, ids])
    have += n
    log(`growth: ${have.toLocaleString('en-US')} sessions after ${Math.round((Date.now() - t0) / 1000)} s`)
  }
  await db.query('alter table sessions add primary key (jti)')
  await db.query('create index sessions_identity_exp on sessions (identity_id, exp)')
  await db.query('create index sessions_exp on sessions (exp)')
  await db.query('analyze sessions')
  await db.query('drop table bench_ids')
  await db.query('reset maintenance_work_mem')
  return have
}

export async function runGrowth (settings: Settings): Promise<GrowthResult> {
  const runs = num('BENCH_GROWTH_RUNS', 2)
  const bigIdentities = num('BENCH_GROWTH_IDENTITIES', 1_000_000)
  const bigSessions = num('BENCH_GROWTH_SESSIONS', 10_000_000)
  const budgetS = num('BENCH_GROWTH_BUDGET_S', 300)
  const dep = await createDeployment('growth')
  const points: GrowthPoint[] = []
  const seedSeconds: Record<string, number> = {}
  try {
    // Migrate (the first start), then seed the small size.
    const first = await startTally(dep)
    await first.stop()
    await seedTally(dep, { identities: settings.clients, hashed: settings.clients })
    log(`growth: measuring ${settings.clients} identities`)
    const small = await measure(dep, settings, runs)
    points.push({ identities: await count(dep, 'identities'), sessions: await count(dep, 'sessions'), ...small })

    let t = Date.now()
    await seedTally(dep, { identities: bigIdentities, hashed: settings.clients })
    seedSeconds.identities = (Date.now() - t) / 1000
    log(`growth: ${bigIdentities.toLocaleString('en-US')} identities seeded in ${Math.round(seedSeconds.identities)} s`)
    t = Date.now()
    const sessions = await seedSessions(dep, bigSessions, Math.max(30, budgetS - seedSeconds.identities))
    seedSeconds.sessions = (Date.now() - t) / 1000
    log(`growth: ${sessions.toLocaleString('en-US')} sessions in ${Math.round(seedSeconds.sessions)} s; measuring`)
    const big = await measure(dep, settings, runs)
    points.push({ identities: await count(dep, 'identities'), sessions: await count(dep, 'sessions'), ...big })
  } finally {
    await dep.drop()
  }
  const [a, b] = points as [GrowthPoint, GrowthPoint]
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')
  const rate = (rs: RunResult[]): number => median(rs.map((r) => r.reqPerS))
  const p99 = (rs: RunResult[]): number => median(rs.map((r) => r.p99Ms))
  const change = (x: number, y: number): string => Number.isFinite(x) && Number.isFinite(y) ? `${(((y / x) - 1) * 100).toFixed(1)}%` : 'n/a'
  // CPU per request (Tally + its Postgres backends) is the figure to compare when the machine is shared:
  // throughput moves with background load, the work per request much less.
  const cpu = (rs: RunResult[]): number => rs.reduce((a, r) => a + (r.serverCores + r.dbCores) * r.total / r.reqPerS, 0) / Math.max(1, rs.reduce((a, r) => a + r.total, 0)) * 1e6
  const other = (rs: RunResult[]): string => rs.length === 0 ? 'n/a' : (rs.reduce((a, r) => a + r.otherCores, 0) / rs.length).toFixed(2)
  const row = (p: GrowthPoint): string => `| ${fmt(p.identities)} | ${fmt(p.sessions)} | ${fmt(rate(p.token))} | ${p99(p.token).toFixed(1)} | ${fmt(cpu(p.token))} | ${p.introspect.length > 0 ? fmt(rate(p.introspect)) : 'n/a'} | ${p.introspect.length > 0 ? p99(p.introspect).toFixed(1) : 'n/a'} | ${p.introspect.length > 0 ? fmt(cpu(p.introspect)) : 'n/a'} | ${other([...p.token, ...p.introspect])} |`
  const short = b.sessions < bigSessions ? ` Only ${fmt(b.sessions)} of the ${fmt(bigSessions)} session rows fitted in the ${budgetS} s seeding budget.` : ''
  const text = [
    `### Cost growth (Tally only, ${runs} × ${settings.durationS} s per point, ${settings.connections} connections)`,
    '',
    '| identities | session rows | /token req/s | /token p99 ms | /token CPU µs/req | /introspect req/s | /introspect p99 ms | /introspect CPU µs/req | background load (cores) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    row(a), row(b),
    '',
    `Change from small to large: /token ${change(rate(a.token), rate(b.token))} req/s and ${change(cpu(a.token), cpu(b.token))} CPU per request, /introspect ${change(rate(a.introspect), rate(b.introspect))} req/s and ${change(cpu(a.introspect), cpu(b.introspect))} CPU per request. Seeding took ${fmt(seedSeconds.identities ?? 0)} s for identities (with credentials and entitlements) and ${fmt(seedSeconds.sessions ?? 0)} s for sessions, indexes included.${short}`
  ].join('\n')
  return { points, seedSeconds, text }
}
