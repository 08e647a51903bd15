// Local token verification, checks per second on one thread: the project's verifier library (when
// packages/verifier/src/index.ts exists) against plain jose jwtVerify and a bare node:crypto ECDSA verify, for a stream
// of distinct tokens ("new") and for one token checked over and over ("repeated").
import { createPublicKey, verify as cryptoVerify } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { importJWK, jwtVerify, type JWK } from 'jose'
import { ROOT } from './servers.js'

export interface VerifyRow {
  name: string
  tokens: 'new' | 'repeated' | 'new, delegated (two hops)'
  checksPerS: number | null
  /** CPU of the whole bench process (event loop and thread pool) per check: steadier than checks/s on a shared machine. */
  cpuUsPerCheck?: number
  note?: string
}

type Measured = Pick<VerifyRow, 'checksPerS' | 'cpuUsPerCheck'>

export interface VerifyBenchOptions {
  /** Distinct valid tokens for jose and node:crypto (which cache nothing, so cycling through them is fine). */
  tokens: string[]
  /** Distinct valid tokens the verifier has never seen, each used once. */
  freshTokens: string[]
  jwk: JWK
  issuer: string
  audience: string
  durationS: number
  verifierOptions: Record<string, unknown>
  /** Fresh delegated two-hop tokens (nested `act`, each actor's epoch checked against the feed), each used once. */
  delegatedTokens?: string[]
}

const CONCURRENCY = 64

/**
 * Runs `check` for about `durationS` with CONCURRENCY checks in flight (a resource server serves
 * concurrent requests; jose's WebCrypto verify may use libuv's thread pool), after a short warm-up.
 * Stops early once `limit` checks were started (a pool of fresh tokens must not be reused). Returns checks/s
 * and the process's CPU per check over the measured window.
 */
async function measure (durationS: number, check: (i: number) => Promise<unknown> | unknown, limit = Infinity): Promise<Measured> {
  let i = 0
  const lanes = async (until: number, counted: boolean): Promise<number> => {
    let done = 0
    const lane = async (): Promise<void> => {
      while (performance.now() < until && i < limit) {
        await check(i++)
        if (counted) done++
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, lane))
    return done
  }
  // Warm-up: V8 optimises, caches fill as they would in a long-running resource server.
  await lanes(performance.now() + 300, false)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const done = await lanes(t0 + durationS * 1000, true)
  const elapsedS = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  return { checksPerS: done / elapsedS, cpuUsPerCheck: (cpu.user + cpu.system) / done }
}

function assertActive (result: unknown): void {
  if (typeof result === 'object' && result !== null && 'active' in result && (result as { active: unknown }).active !== true) {
    throw new Error(`verifier said inactive: ${JSON.stringify(result)}`)
  }
}

export async function benchVerify (options: VerifyBenchOptions): Promise<VerifyRow[]> {
  const { tokens, issuer, audience, durationS } = options
  const rows: VerifyRow[] = []
  const pick = (mode: 'new' | 'repeated', i: number): string => (mode === 'new' ? tokens[i % tokens.length] : tokens[0]) as string

  // BENCH_VERIFY_ONLY=1 (to profile the verifier): skip the reference rows.
  const references = process.env.BENCH_VERIFY_ONLY !== '1'
  const joseKey = await importJWK(options.jwk, 'ES256')
  const joseOptions = { issuer, audience, typ: 'at+jwt', algorithms: ['ES256'] }
  for (const mode of references ? ['new', 'repeated'] as const : []) {
    rows.push({ name: 'jose jwtVerify', tokens: mode, ...await measure(durationS, async (i) => await jwtVerify(pick(mode, i), joseKey, joseOptions)) })
  }

  // The floor for a full check: split, one ECDSA P-256 verify with a cached KeyObject, parse, claims.
  const keyObject = createPublicKey({ key: options.jwk as Record<string, string> & { kty: string }, format: 'jwk' })
  const nodeCheck = (token: string): void => {
    const dot2 = token.lastIndexOf('.')
    const ok = cryptoVerify('sha256', Buffer.from(token.slice(0, dot2)), { key: keyObject, dsaEncoding: 'ieee-p1363' }, Buffer.from(token.slice(dot2 + 1), 'base64url'))
    const claims = JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1, dot2), 'base64url').toString()) as Record<string, unknown>
    if (!ok || claims.iss !== issuer || claims.aud !== audience || (claims.exp as number) * 1000 < Date.now()) throw new Error('node:crypto check failed')
  }
  for (const mode of references ? ['new', 'repeated'] as const : []) {
    rows.push({ name: 'node:crypto verify + claims', tokens: mode, ...await measure(durationS, (i) => nodeCheck(pick(mode, i))) })
  }
  // The same with crypto.verify's callback form, which runs on libuv's thread pool (as WebCrypto does).
  const nodeCheckAsync = async (token: string): Promise<void> => {
    const dot2 = token.lastIndexOf('.')
    const ok = await new Promise<boolean>((resolve, reject) => {
      cryptoVerify('sha256', Buffer.from(token.slice(0, dot2)), { key: keyObject, dsaEncoding: 'ieee-p1363' }, Buffer.from(token.slice(dot2 + 1), 'base64url'),
        (err, result) => { if (err !== null) reject(err); else resolve(result) })
    })
    const claims = JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1, dot2), 'base64url').toString()) as Record<string, unknown>
    if (!ok || claims.iss !== issuer || claims.aud !== audience || (claims.exp as number) * 1000 < Date.now()) throw new Error('node:crypto check failed')
  }
  if (references) rows.push({ name: 'node:crypto verify (async, thread pool) + claims', tokens: 'new', ...await measure(durationS, async (i) => { await nodeCheckAsync(pick('new', i)) }) })

  // BENCH_VERIFIER_PATH: another copy of the verifier's source (an A/B of two versions, run alternately).
  const verifierPath = process.env.BENCH_VERIFIER_PATH ?? join(ROOT, 'packages', 'verifier', 'src', 'index.ts')
  if (!existsSync(verifierPath)) {
    rows.push({ name: 'Tally verifier', tokens: 'new', checksPerS: null, note: 'packages/verifier/src/index.ts not present yet' })
    return rows
  }
  let verifier: { verify: (token: string, opts?: Record<string, unknown>) => Promise<unknown>, close: () => Promise<void> } | undefined
  try {
    const mod = await import(pathToFileURL(verifierPath).href) as { createVerifier: (o: Record<string, unknown>) => Promise<typeof verifier> }
    verifier = await withTimeout(mod.createVerifier(options.verifierOptions), 15_000)
    const v = verifier as NonNullable<typeof verifier>
    assertActive(await v.verify(tokens[0] as string, { scopes: ['read'] }))
    for (const mode of ['new', 'repeated'] as const) {
      const fresh = options.freshTokens
      const token = (i: number): string => (mode === 'new' ? fresh[i] : tokens[0]) as string
      rows.push({ name: 'Tally verifier', tokens: mode, ...await measure(durationS, async (i) => { assertActive(await v.verify(token(i), { scopes: ['read'] })) }, mode === 'new' ? fresh.length : Infinity) })
    }
    const delegated = options.delegatedTokens
    if (delegated !== undefined && delegated.length > 0) {
      assertActive(await v.verify(delegated[0] as string, { scopes: ['read'] }))
      rows.push({ name: 'Tally verifier', tokens: 'new, delegated (two hops)', ...await measure(durationS, async (i) => { assertActive(await v.verify(delegated[i + 1] as string, { scopes: ['read'] })) }, delegated.length - 1) })
    }
  } catch (err) {
    rows.push({ name: 'Tally verifier', tokens: 'new', checksPerS: null, note: `not measured: ${err instanceof Error ? err.message : String(err)}`.slice(0, 160) })
  } finally {
    await verifier?.close().catch(() => {})
  }
  return rows
}

async function withTimeout<T> (promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms) })])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * `npx tsx scripts/bench/verify-bench.ts`: the verifier rows alone (no comparison run, no build). Starts
 * Tally from source on a private schema of the local Postgres, issues and mints tokens as index.ts does,
 * prints the table and stops everything. BENCH_VERIFY_S sets the seconds per row.
 */
async function runAlone (): Promise<void> {
  const [{ createDeployment, seedTally }, { freePort, startServer, tempDir }, { issueTokens }, { mintTokens }, fixtures, { randomBytes }] = await Promise.all([
    import('./tally.js'), import('./servers.js'), import('./requests.js'), import('./mint.js'), import('./fixtures.js'), import('node:crypto')])
  const dep = await createDeployment('verify')
  const port = await freePort()
  let tally: Awaited<ReturnType<typeof startServer>> | undefined
  try {
    tally = await startServer({
      name: 'tally',
      script: join(ROOT, 'server', 'main.ts'),
      nodeArgs: ['--import', 'tsx'],
      port,
      readyPath: '/readyz',
      env: {
        PORT: String(port), HOST: '127.0.0.1', ISSUER: `http://127.0.0.1:${port}`, DATABASE_URL: dep.databaseUrl,
        DATA_DIR: tempDir('tally-verify-bench-'), TALLY_KEY_ENCRYPTION_KEY: dep.kek.toString('base64'),
        TALLY_BOOTSTRAP_ADMIN_SECRET: randomBytes(32).toString('base64url'), LOG_LEVEL: 'warn'
      }
    })
    await seedTally(dep, { identities: 100, hashed: 100 })
    const issued = await issueTokens(tally.url, 50, 100)
    const tokens = [...issued, ...await mintTokens(dep, issued[0] as string, 20_000)]
    const durationS = Number(process.env.BENCH_VERIFY_S ?? 2)
    const freshTokens = await mintTokens(dep, issued[0] as string, Math.max(20_000, Math.ceil(durationS * 40_000)))
    const jwks = await (await fetch(`${tally.url}/.well-known/jwks.json`)).json() as { keys: JWK[] }
    const header = JSON.parse(Buffer.from((tokens[0] as string).split('.')[0] as string, 'base64url').toString()) as { kid: string }
    const rows = await benchVerify({
      tokens,
      freshTokens,
      jwk: jwks.keys.find((k) => k.kid === header.kid) as JWK,
      issuer: tally.url,
      audience: fixtures.JWT_RESOURCE,
      durationS,
      verifierOptions: { issuer: tally.url, audience: fixtures.JWT_RESOURCE, clientId: fixtures.RS_CLIENT_ID, clientSecret: fixtures.RS_CLIENT_SECRET }
    })
    const jose = (mode: string): number | null | undefined => rows.find((r) => r.name === 'jose jwtVerify' && r.tokens === mode)?.checksPerS
    for (const r of rows) {
      const base = jose(r.tokens)
      const ratio = r.checksPerS !== null && base != null ? `${(r.checksPerS / base).toFixed(2)}×` : ''
      process.stdout.write(`| ${r.name} | ${r.tokens} | ${r.checksPerS === null ? `n/a — ${r.note ?? ''}` : Math.round(r.checksPerS).toLocaleString('en-US')} | ${r.cpuUsPerCheck?.toFixed(1) ?? ''} µs | ${ratio} |\n`)
    }
  } finally {
    await tally?.stop()
    await dep.drop()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runAlone().then(() => process.exit(0), (err) => {
    process.stderr.write(`verify-bench: failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
    process.exit(1)
  })
}
