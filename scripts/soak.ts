// npm run soak: mixed load against one Tally on the local Postgres for SOAK_DURATION_S (default 600 s),
// loopback only, bounded in time. Every SOAK_SEGMENT_S it reports throughput, p50/p99 and the server's RSS,
// then the drift from the first segment to the last — the symptoms of a leak or of a table that grows
// without purging. Mix: 70% /token, 25% /introspect, 5% /revoke of earlier tokens.
import autocannon from 'autocannon'
import { basicAuth, clientId, clientSecret, FORM, JWT_RESOURCE, RS_CLIENT_ID, RS_CLIENT_SECRET } from './bench/fixtures.js'
import { rssKb } from './bench/proc-stats.js'
import { issueTokens } from './bench/requests.js'
import { buildTally } from './bench/servers.js'
import { createDeployment, seedTally, startTally } from './bench/tally.js'

const durationS = Number(process.env.SOAK_DURATION_S ?? 600)
const segmentS = Number(process.env.SOAK_SEGMENT_S ?? 60)
const connections = Number(process.env.SOAK_CONNECTIONS ?? 20)
const CLIENTS = 100

interface Segment { second: number, reqPerS: number, p50Ms: number, p99Ms: number, non2xx: number, rssMb: number }

const log = (msg: string): void => { process.stderr.write(`soak: ${msg}\n`) }

async function main (): Promise<void> {
  log(`building (${buildTally()})`)
  const dep = await createDeployment('soak')
  const server = await startTally(dep, { env: { MAINTENANCE_INTERVAL_S: '10', SESSION_RETENTION_S: '0' } })
  try {
    await seedTally(dep, { identities: CLIENTS, hashed: CLIENTS })
    const tokenBody = `grant_type=client_credentials&scope=read&resource=${encodeURIComponent(JWT_RESOURCE)}`
    const pool = await issueTokens(server.url, 500, CLIENTS)
    const rs = { authorization: basicAuth(RS_CLIENT_ID, RS_CLIENT_SECRET), 'content-type': FORM }
    let n = 0
    const next = (): { path: string, headers: Record<string, string>, body: string } => {
      const i = n++
      const roll = i % 20
      if (roll < 14) return { path: '/token', headers: { authorization: basicAuth(clientId(i % CLIENTS), clientSecret(i % CLIENTS)), 'content-type': FORM }, body: tokenBody }
      const token = pool[i % pool.length] as string
      if (roll < 19) return { path: '/introspect', headers: rs, body: `token=${encodeURIComponent(token)}` }
      // A client revoking its own token (RFC 7009): the owner is the token's client_id.
      const owner = Number((JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { client_id: string }).client_id.split('-').pop())
      return { path: '/revoke', headers: { authorization: basicAuth(clientId(owner), clientSecret(owner)), 'content-type': FORM }, body: `token=${encodeURIComponent(token)}` }
    }
    const segments: Segment[] = []
    for (let second = 0; second < durationS; second += segmentS) {
      const result = await autocannon({
        url: server.url,
        connections,
        duration: Math.min(segmentS, durationS - second),
        requests: [{ method: 'POST', setupRequest (req) { const r = next(); return { ...req, path: r.path, headers: r.headers, body: r.body } } }]
      })
      const segment = {
        second,
        reqPerS: Math.round(result.requests.average),
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        non2xx: result.non2xx + result.errors + result.timeouts,
        rssMb: Math.round(rssKb(server.pid) / 1024)
      }
      segments.push(segment)
      log(`t=${second}s ${segment.reqPerS} req/s p50 ${segment.p50Ms} ms p99 ${segment.p99Ms} ms non-2xx ${segment.non2xx} RSS ${segment.rssMb} MB`)
    }
    const first = segments[0] as Segment
    const last = segments[segments.length - 1] as Segment
    const { rows } = await dep.admin.query<{ n: number }>('select count(*)::int as n from sessions')
    const pct = (a: number, b: number): string => `${b === 0 ? 0 : Math.round((a - b) / b * 100)}%`
    process.stdout.write([
      `| segment start (s) | req/s | p50 ms | p99 ms | non-2xx | RSS MB |`,
      `|---|---|---|---|---|---|`,
      ...segments.map((s) => `| ${s.second} | ${s.reqPerS} | ${s.p50Ms} | ${s.p99Ms} | ${s.non2xx} | ${s.rssMb} |`),
      '',
      `drift first → last: req/s ${pct(last.reqPerS, first.reqPerS)}, p99 ${pct(last.p99Ms, first.p99Ms)}, RSS ${first.rssMb} → ${last.rssMb} MB`,
      `sessions table at the end: ${rows[0]?.n ?? 0} rows (retention 0 s, purged every 10 s)`,
      ''
    ].join('\n'))
  } finally {
    await server.stop()
    await dep.drop()
  }
}

main().catch((err) => { process.stderr.write(`soak: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`); process.exit(1) })
