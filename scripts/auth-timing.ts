// Does authentication take measurably longer for a client that exists? (issue 9 finding 7, docs/reference/endpoints.md)
// For each method, N requests for a known client with a wrong credential and N for an unknown client,
// alternating, through app.inject on embedded PGlite; prints the medians and the Mann–Whitney rank-sum z
// (|z| < 2: no difference the samples can tell from noise). Usage: npx tsx scripts/auth-timing.ts [N]
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import { buildApp } from '../server/app.js'
import { loadConfig } from '../server/config.js'
import { AuthThrottle } from '../server/oauth/throttle.js'
import { openStore } from '../server/store/database.js'

const N = Number(process.argv[2] ?? 2000)
const ADMIN_SECRET = 'tly_timing-bootstrap-admin-secret-0123456789'
const config = loadConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'tally-timing-')), TALLY_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'), TALLY_BOOTSTRAP_ADMIN_SECRET: ADMIN_SECRET, LOG_LEVEL: 'silent' })
const store = await openStore({ databaseUrl: undefined, dataDir: 'memory://' })
const app = await buildApp(config, { store, logger: false })
// The throttle stays on the path (same work for both), with limits no run reaches.
app.tally.clientAuth.throttle = new AuthThrottle({ windowS: 3600, maxFailuresPerAddress: 1e9, maxFailuresPerClient: 1e9, maxKeys: 50_000 })

const FORM = 'application/x-www-form-urlencoded'
const basic = (id: string, secret: string): string => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64')
const adminRes = await app.inject({ method: 'POST', url: '/token', headers: { authorization: basic('admin', ADMIN_SECRET), 'content-type': FORM }, payload: 'grant_type=client_credentials&resource=urn%3Atally%3Aadmin' })
const admin = adminRes.json().access_token as string
const call = async (method: string, url: string, body: unknown): Promise<any> => (await app.inject({ method: method as 'POST', url, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) })).json()
const known = await call('POST', '/admin/identities', { client_id: 'timing-known', kind: 'service_account' })
await call('POST', `/admin/identities/${known.id as string}/secrets`, {})
const keyPair = await generateKeyPair('ES256')
await call('POST', `/admin/identities/${known.id as string}/keys`, { jwk: { ...(await exportJWK(keyPair.publicKey)), kid: 'k1' } })

async function junkAssertion (clientId: string): Promise<string> {
  const jwt = await new SignJWT({ jti: randomBytes(8).toString('hex') }).setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(clientId).setSubject(clientId).setAudience(config.issuer).setIssuedAt().setExpirationTime('60s').sign(keyPair.privateKey)
  return jwt.slice(0, -8) + 'AAAAAAAA' // a well-formed signature that does not verify
}

type Make = (clientId: string) => Promise<{ headers: Record<string, string>, payload: string }>
const secretCase: Make = async (clientId) => ({ headers: { authorization: basic(clientId, 'tly_wrong-secret-of-the-usual-length-0123456789ab'), 'content-type': FORM }, payload: 'grant_type=client_credentials' })
const jwtCase: Make = async (clientId) => ({ headers: { 'content-type': FORM }, payload: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await junkAssertion(clientId) }).toString() })

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] as number }

/** Mann–Whitney U as a z-score (normal approximation, ties averaged). */
function rankSumZ (a: number[], b: number[]): number {
  const all = [...a.map((v) => ({ v, g: 0 })), ...b.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v)
  const ranks = new Array<number>(all.length)
  for (let i = 0; i < all.length;) {
    let j = i
    while (j + 1 < all.length && all[j + 1]!.v === all[i]!.v) j++
    for (let k = i; k <= j; k++) ranks[k] = (i + j) / 2 + 1
    i = j + 1
  }
  let ra = 0
  all.forEach((x, i) => { if (x.g === 0) ra += ranks[i] as number })
  const n1 = a.length; const n2 = b.length
  const u = ra - n1 * (n1 + 1) / 2
  return (u - n1 * n2 / 2) / Math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
}

async function measure (name: string, make: Make): Promise<void> {
  const samples: [number[], number[]] = [[], []]
  for (let i = 0; i < 200; i++) await app.inject({ method: 'POST', url: '/token', ...(await make(i % 2 === 0 ? 'timing-known' : `timing-unknown-${i}`)) }) // warm-up
  for (let i = 0; i < 2 * N; i++) {
    const k = i % 2
    const request = await make(k === 0 ? 'timing-known' : `timing-unknown-${i}`)
    const start = process.hrtime.bigint()
    const res = await app.inject({ method: 'POST', url: '/token', ...request })
    const us = Number(process.hrtime.bigint() - start) / 1000
    if (res.statusCode !== 401) throw new Error(`${name}: expected 401, got ${res.statusCode} ${res.body}`)
    samples[k]!.push(us)
  }
  const [knownUs, unknownUs] = samples
  console.log(`${name.padEnd(22)} known median ${median(knownUs).toFixed(0)} µs, unknown median ${median(unknownUs).toFixed(0)} µs, Δ ${(median(knownUs) - median(unknownUs)).toFixed(0)} µs, rank-sum z = ${rankSumZ(knownUs, unknownUs).toFixed(2)} (2 × ${N})`)
}

await measure('client_secret_basic', secretCase)
await measure('private_key_jwt', jwtCase)
await app.close()
await store.close()
