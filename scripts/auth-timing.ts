// Does authentication take measurably longer for a client that exists? (issue 9 finding 7, docs/security.md)
// For each case, N rounds of requests with a wrong credential naming a known client, an unknown one and a
// second known one, through app.inject on embedded PGlite (or, with DATABASE_URL, a private schema of that
// Postgres, dropped at the end). Each round runs its requests in a random order, so drift and any periodic
// effect fall on all of them. Known and unknown client_ids have the same length and come from pools of the
// same size, cycled, so the throttle's bookkeeping (keyed by the presented client_id) is the same for both.
//
// Per case it prints both medians, their difference Δ and the Mann–Whitney rank-sum z (normal approximation),
// the paired figures, and the same for an A/A comparison of two known clients, where no difference exists:
// the noise floor (see measure below). |z| < 2 is a difference the samples cannot tell from noise. It also
// counts the SQL statements one request runs: equal work must not cost a known client a round trip.
// Usage: npx tsx scripts/auth-timing.ts [N]
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { KyselyPlugin } from '../server/store/kysely.js'
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose'
import { buildApp } from '../server/app.js'
import { loadConfig } from '../server/config.js'
import { AuthThrottle } from '../server/oauth/throttle.js'
import { openStore, type Store } from '../server/store/database.js'

const N = Number(process.argv[2] ?? 2000)
const POOL = 8
const ADMIN_SECRET = 'tly_timing-bootstrap-admin-secret-0123456789'

async function privateSchema (baseUrl: string): Promise<{ url: string, drop: () => Promise<void> }> {
  const schema = `tally_timing_${randomBytes(6).toString('hex')}`
  const run = async (statement: string): Promise<void> => {
    const c = new pg.Client({ connectionString: baseUrl })
    await c.connect()
    try { await c.query(statement) } finally { await c.end() }
  }
  await run(`create schema ${schema}`)
  const url = new URL(baseUrl)
  url.searchParams.set('options', `-c search_path=${schema}`)
  return { url: url.toString(), drop: async () => { await run(`drop schema ${schema} cascade`) } }
}

const schema = process.env.DATABASE_URL !== undefined ? await privateSchema(process.env.DATABASE_URL) : undefined
const config = loadConfig({
  DATA_DIR: mkdtempSync(join(tmpdir(), 'tally-timing-')),
  TALLY_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  TALLY_BOOTSTRAP_ADMIN_SECRET: ADMIN_SECRET,
  LOG_LEVEL: 'silent',
  ...(schema !== undefined && { DATABASE_URL: schema.url })
})
const opened = await openStore({ databaseUrl: schema?.url, dataDir: 'memory://' })
// Every statement the app runs passes through this plugin, which counts the results it sees.
let statements = 0
const counter: KyselyPlugin = {
  transformQuery: (args) => args.node,
  transformResult: async (args) => { statements++; return args.result }
}
const store: Store = { ...opened, db: opened.db.withPlugin(counter) }
const app = await buildApp(config, { store, logger: false })
// The throttle stays on the path (same work for both), with limits no run reaches.
app.tally.clientAuth.throttle = new AuthThrottle({ windowS: 3600, maxFailuresPerAddress: 1e9, maxFailuresPerClient: 1e9, maxKeys: 50_000 })

const FORM = 'application/x-www-form-urlencoded'
const WRONG_SECRET = 'tly_wrong-secret-of-the-usual-length-0123456789ab'
const basic = (id: string, secret: string): string => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64')
const adminRes = await app.inject({ method: 'POST', url: '/token', headers: { authorization: basic('admin', ADMIN_SECRET), 'content-type': FORM }, payload: 'grant_type=client_credentials&resource=urn%3Atally%3Aadmin' })
const admin = adminRes.json().access_token as string
async function call (url: string, body: unknown): Promise<any> {
  const res = await app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) })
  if (res.statusCode !== 201) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
  return res.json()
}

// Known clients hold a secret, an ES256 key and an entitlement, as a working service account does;
// the `nokey` ones hold only a secret. Every id is 16 characters.
const pad = (prefix: string, i: number): string => `${prefix}-${String(i).padStart(16 - prefix.length - 1, '0')}`
const knownIds = Array.from({ length: POOL }, (_, i) => pad('timing-known', i))
const noKeyIds = Array.from({ length: POOL }, (_, i) => pad('timing-nokey', i))
// An unknown client_id is priced as its decoy, the live client_id after it (store/clients.ts): every
// timing-ghost-… is followed by timing-known-000 (a key), every timing-nokex-… by timing-nokey-000 (none).
const unknownGhosts = Array.from({ length: POOL }, (_, i) => pad('timing-ghost', i))
const unknownBeforeNoKey = Array.from({ length: POOL }, (_, i) => pad('timing-nokex', i))
const keyPair = await generateKeyPair('ES256')
const RESOURCE = 'https://api.timing.test/'
await call('/admin/resources', { identifier: RESOURCE, scopes: ['read'] })
let goodSecret = ''
for (const clientId of [...knownIds, ...noKeyIds]) {
  const identity = await call('/admin/identities', { client_id: clientId, kind: 'service_account' })
  const secret = await call(`/admin/identities/${identity.id as string}/secrets`, {})
  if (clientId === knownIds[0]) goodSecret = secret.client_secret as string
  if (clientId.startsWith('timing-known')) {
    await call(`/admin/identities/${identity.id as string}/keys`, { jwk: { ...(await exportJWK(keyPair.publicKey)), kid: 'k1' } })
  }
  await call(`/admin/identities/${identity.id as string}/entitlements`, { resource: RESOURCE, scopes: ['read'] })
}

async function assertion (clientId: string, key: CryptoKey, junk: boolean): Promise<string> {
  const jwt = await new SignJWT({ jti: randomBytes(8).toString('hex') }).setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(clientId).setSubject(clientId).setAudience(config.issuer).setIssuedAt().setExpirationTime('60s').sign(key)
  return junk ? jwt.slice(0, -8) + 'AAAAAAAA' : jwt // junk: a well-formed signature that does not verify
}

type Request = { headers: Record<string, string>, payload: string }
type Make = (clientId: string) => Promise<Request>
const secretBasic: Make = async (clientId) => ({ headers: { authorization: basic(clientId, WRONG_SECRET), 'content-type': FORM }, payload: 'grant_type=client_credentials' })
const secretPost: Make = async (clientId) => ({ headers: { 'content-type': FORM }, payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: WRONG_SECRET }).toString() })
const jwtBody = (clientAssertion: string): string => new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: clientAssertion }).toString()
const junkJwt: Make = async (clientId) => ({ headers: { 'content-type': FORM }, payload: jwtBody(await assertion(clientId, keyPair.privateKey, true)) })

const quantile = (xs: number[], q: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(q * (s.length - 1))] as number }
const median = (xs: number[]): number => quantile(xs, 0.5)

/** Mann–Whitney U as a z-score (normal approximation, ties averaged): do the two samples differ in location? */
function rankSumZ (a: number[], b: number[]): number {
  const all = [...a.map((v) => ({ v, g: 0 })), ...b.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v)
  const ranks = averagedRanks(all.map((x) => x.v))
  let ra = 0
  all.forEach((x, i) => { if (x.g === 0) ra += ranks[i] as number })
  const n1 = a.length; const n2 = b.length
  const u = ra - n1 * (n1 + 1) / 2
  return (u - n1 * n2 / 2) / Math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
}

/** Wilcoxon signed-rank z of paired differences (normal approximation): is known − unknown centred on 0? */
function signedRankZ (diffs: number[]): number {
  const nonZero = diffs.filter((d) => d !== 0).sort((x, y) => Math.abs(x) - Math.abs(y))
  const ranks = averagedRanks(nonZero.map(Math.abs))
  let wPlus = 0
  nonZero.forEach((d, i) => { if (d > 0) wPlus += ranks[i] as number })
  const n = nonZero.length
  return (wPlus - n * (n + 1) / 4) / Math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
}

/** 1-based ranks of sorted values, ties averaged. */
function averagedRanks (sorted: number[]): number[] {
  const ranks = new Array<number>(sorted.length)
  for (let i = 0; i < sorted.length;) {
    let j = i
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[i]) j++
    for (let k = i; k <= j; k++) ranks[k] = (i + j) / 2 + 1
    i = j + 1
  }
  return ranks
}

interface Sample { wall: number, cpu: number }

async function timed (request: Request, expected: number, name: string): Promise<Sample> {
  const cpu = process.cpuUsage()
  const start = process.hrtime.bigint()
  const res = await app.inject({ method: 'POST', url: '/token', ...request })
  const wall = Number(process.hrtime.bigint() - start) / 1000
  const used = process.cpuUsage(cpu)
  if (res.statusCode !== expected) throw new Error(`${name}: expected ${expected}, got ${res.statusCode} ${res.body}`)
  return { wall, cpu: used.user + used.system }
}

/**
 * Each round times three requests back to back in a random order: a known client, an unknown one, and a
 * second known one (another client of the same pool). Two readings per case, on the wall clock and on this
 * process's CPU time (PGlite runs in this process, so its work is counted; other processes' is not).
 * Unpaired: both medians, their difference and the rank-sum z. Paired, within rounds: the median of
 * (known − unknown) and its signed-rank z, far less moved by what the rest of the machine does meanwhile.
 * A/A: the same paired figures for (known − second known), where no difference exists: the noise floor.
 */
async function measure (name: string, make: Make, known: string[], unknownIds = unknownGhosts): Promise<void> {
  const samples: [Sample[], Sample[], Sample[]] = [[], [], []]
  for (let i = 0; i < 200; i++) await timed(await make(i % 2 === 0 ? known[i % POOL]! : unknownIds[i % POOL]!), 401, name) // warm-up
  for (let i = 0; i < N; i++) {
    // Build the requests first (signing is not what is measured), then time them in a random order.
    const round: Array<[0 | 1 | 2, Request]> = [[0, await make(known[i % POOL]!)], [1, await make(unknownIds[i % POOL]!)], [2, await make(known[(i + 1) % POOL]!)]]
    for (let j = round.length - 1; j > 0; j--) { const r = Math.floor(Math.random() * (j + 1)); [round[j], round[r]] = [round[r]!, round[j]!] }
    for (const [k, request] of round) samples[k].push(await timed(request, 401, name))
  }
  for (const clock of ['wall', 'cpu'] as const) {
    const [knownUs, unknownUs, otherUs] = samples.map((group) => group.map((s) => s[clock])) as [number[], number[], number[]]
    const paired = knownUs.map((v, i) => v - (unknownUs[i] as number))
    const aa = knownUs.map((v, i) => v - (otherUs[i] as number))
    const us = (v: number): string => `${v.toFixed(0).padStart(5)} µs`
    const z = (v: number): string => v.toFixed(2).padStart(5)
    console.log(`${name.padEnd(26)} ${clock.padEnd(4)} median known ${us(median(knownUs))} unknown ${us(median(unknownUs))} Δ ${us(median(knownUs) - median(unknownUs))} z ${z(rankSumZ(knownUs, unknownUs))}` +
      ` | paired Δ ${us(median(paired))} z ${z(signedRankZ(paired))} | A/A: Δ ${us(median(knownUs) - median(otherUs))} z ${z(rankSumZ(knownUs, otherUs))}, paired Δ ${us(median(aa))} z ${z(signedRankZ(aa))}`)
  }
}

async function statementsOf (request: Request, expected: number): Promise<number> {
  const before = statements
  await timed(request, expected, 'statement count')
  return statements - before
}

const counts = {
  'known, correct secret': await statementsOf(await secretBasic(knownIds[0]!).then((r) => ({ ...r, headers: { ...r.headers, authorization: basic(knownIds[0]!, goodSecret) } })), 200),
  'known, correct assertion': await statementsOf({ headers: { 'content-type': FORM }, payload: jwtBody(await assertion(knownIds[0]!, keyPair.privateKey, false)) }, 200),
  'known, wrong secret': await statementsOf(await secretBasic(knownIds[0]!), 401),
  'unknown, any secret': await statementsOf(await secretBasic(unknownGhosts[0]!), 401),
  'known, junk signature': await statementsOf(await junkJwt(knownIds[0]!), 401),
  'unknown, junk signature': await statementsOf(await junkJwt(unknownGhosts[0]!), 401)
}
console.log(`engine ${opened.engine}, N = ${N} rounds per case; statements per request: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}`)

await measure('client_secret_basic', secretBasic, knownIds)
await measure('client_secret_post', secretPost, knownIds)
await measure('private_key_jwt (has key)', junkJwt, knownIds)
await measure('private_key_jwt (no key)', junkJwt, noKeyIds)
await measure('… decoy without a key too', junkJwt, noKeyIds, unknownBeforeNoKey)
await app.close()
await store.close()
await schema?.drop()
