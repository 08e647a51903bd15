// The jwt-bearer row (issue 12): tokens/s and CPU µs per token for the RFC 7523 §2.1 grant with a
// Kubernetes-shaped, RS256-signed platform token, beside client_credentials on the same Tally, same
// clients, same resource. The platform is a small issuer in this process on 127.0.0.1 serving its JWKS;
// Tally fetches it once and then verifies one extra signature (and reads the trust) per token.
import { createServer, type Server as HttpServer } from 'node:http'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { clientId, FORM, JWT_RESOURCE } from './fixtures.js'
import type { BenchRequest } from './load.js'
import { alternateGrants, type GrantRow } from './grant-rows.js'
import { tokenRequests } from './requests.js'
import type { Server } from './servers.js'
import type { TallyDeployment } from './tally.js'

const WORKLOADS = 200

export type JwtBearerRow = GrantRow

async function startPlatform (): Promise<{ issuer: string, sign: (sub: string, audience: string) => Promise<string>, close: () => void }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256')
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench-k8s', alg: 'RS256', use: 'sig' }
  const server: HttpServer = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=3600' }); res.end(JSON.stringify({ keys: [jwk] })) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const sign = async (sub: string, audience: string): Promise<string> => await new SignJWT({ 'kubernetes.io': { namespace: 'bench', serviceaccount: { name: sub } } })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench-k8s' }).setIssuer(issuer).setSubject(sub).setAudience([audience])
    .setIssuedAt().setNotBefore('0s').setExpirationTime('1h').setJti(crypto.randomUUID()).sign(privateKey)
  return { issuer, sign, close: () => { server.closeAllConnections(); server.close() } }
}

/** Seeds a trust and one federated credential for each of the first WORKLOADS bench clients. */
async function seedFederation (dep: TallyDeployment, issuer: string, audience: string): Promise<void> {
  const { rows: [trust] } = await dep.admin.query<{ id: string }>(
    `insert into trusts (issuer, jwks_uri, audience, claims) values ($1, $2, $3, $4) returning id`,
    [issuer, `${issuer}/jwks`, audience, JSON.stringify({ namespace: 'kubernetes.io.namespace' })])
  await dep.admin.query(`insert into credentials (identity_id, type, trust_id, issuer, subject)
    select i.id, 'federated', $1, $2, 'system:serviceaccount:bench:' || i.client_id
    from identities i where i.client_id = any($3::text[])`, [trust?.id, issuer, Array.from({ length: WORKLOADS }, (_v, i) => clientId(i))])
  await dep.admin.query('analyze credentials')
}

/**
 * Starts the platform, seeds the trust and credentials (once per deployment) and returns the jwt-bearer
 * requests, rotating over WORKLOADS workloads; probes one first. `close` stops the platform.
 */
export async function jwtBearerRequests (tally: Server, dep: TallyDeployment): Promise<{ next: () => BenchRequest, close: () => void }> {
  const platform = await startPlatform()
  try {
    if (!seeded.has(dep.schema)) { await seedFederation(dep, platform.issuer, tally.url); seeded.add(dep.schema) } else await repointTrust(dep, platform.issuer, tally.url)
    const bodies = await Promise.all(Array.from({ length: WORKLOADS }, async (_v, i) =>
      `grant_type=${encodeURIComponent('urn:ietf:params:oauth:grant-type:jwt-bearer')}&scope=read%20write&resource=${encodeURIComponent(JWT_RESOURCE)}&assertion=${await platform.sign(`system:serviceaccount:bench:${clientId(i)}`, tally.url)}`))
    const probe = await fetch(`${tally.url}/token`, { method: 'POST', headers: { 'content-type': FORM }, body: bodies[0] })
    if (probe.status !== 200) throw new Error(`jwt-bearer probe: ${probe.status} ${await probe.text()}`)
    let n = 0
    return { next: () => ({ path: '/token', headers: { 'content-type': FORM }, body: bodies[n++ % bodies.length] as string }), close: platform.close }
  } catch (err) {
    platform.close()
    throw err
  }
}

const seeded = new Set<string>()

/** A second platform (another port, another key) or Tally for a deployment seeded before: the trust follows them. */
async function repointTrust (dep: TallyDeployment, issuer: string, audience: string): Promise<void> {
  await dep.admin.query('update trusts set issuer = $1, jwks_uri = $2, audience = $3', [issuer, `${issuer}/jwks`, audience])
  await dep.admin.query('update credentials set issuer = $1 where type = \'federated\'', [issuer])
}

export async function benchJwtBearer (tally: Server, dep: TallyDeployment): Promise<JwtBearerRow[]> {
  const { next, close } = await jwtBearerRequests(tally, dep)
  try {
    return await alternateGrants(tally, dep,
      [{ grant: 'client_credentials (client_secret_basic)', runs: [] }, { grant: 'jwt-bearer (RS256 platform token)', runs: [] }],
      [tokenRequests(WORKLOADS), next], 3)
  } finally {
    close()
  }
}

export function jwtBearerTable (rows: JwtBearerRow[]): string {
  const fmt = (n: number): string => Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a'
  const lines = ['| grant | tokens/s (median) | runs | p99 ms | non-2xx | CPU µs/token (server + Postgres) |', '|---|---:|---|---:|---:|---:|']
  for (const row of rows) {
    const rps = [...row.runs.map((r) => r.reqPerS)].sort((a, b) => a - b)
    const cpu = row.runs.reduce((a, r) => a + (r.serverCores + r.dbCores) * r.total / r.reqPerS, 0) / Math.max(1, row.runs.reduce((a, r) => a + r.total, 0)) * 1e6
    lines.push(`| ${row.grant} | ${fmt(rps[Math.floor(rps.length / 2)] ?? NaN)} | ${row.runs.map((r) => fmt(r.reqPerS)).join(' / ')} | ${Math.max(...row.runs.map((r) => r.p99Ms)).toFixed(1)} | ${row.runs.reduce((a, r) => a + r.non2xx, 0)} | ${fmt(cpu)} |`)
  }
  return lines.join('\n')
}
