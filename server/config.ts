// The only file that reads process.env (docs/reference/configuration.md). loadConfig() validates every variable once at boot
// and returns a frozen, typed object; buildApp() takes that object, so tests pass their own.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { join, resolve } from 'node:path'

export interface Config {
  readonly port: number
  readonly host: string
  readonly issuer: string
  /**
   * Which proxies' X-Forwarded-For to believe for the client address (fastify `trustProxy`): false (off, the
   * default), true (every hop), a hop count, or a list of addresses and CIDRs.
   */
  readonly trustProxy: boolean | number | string[]
  readonly databaseUrl: string | undefined
  readonly dataDir: string
  /** 32 bytes: encrypts private signing keys at rest and keys the client-secret hashes. */
  readonly keyEncryptionKey: Buffer
  readonly bootstrapAdminSecret: string | undefined
  readonly tokenTtlDefaultS: number
  readonly tokenTtlMaxS: number
  readonly feedMaxStalenessS: number
  readonly logLevel: string
  /** Seconds a `503` asks clients to wait before retrying. */
  readonly retryAfterS: number
  /** Seconds a new signing key is published in the JWKS before it signs (docs/reference/admin-api.md keys/rotate). */
  readonly keyPrePublicationS: number
  /** Seconds between scheduled signing-key rotations. */
  readonly keyRotationIntervalS: number
  /** Seconds a session row is kept after its token's exp (docs/reference/concepts.md "retention window"). */
  readonly sessionRetentionS: number
  /** Seconds feed events are kept; an older cursor gets 410 and takes a new snapshot. */
  readonly feedRetentionS: number
  /** Days usage (last use of entitlements, scopes, credentials, identities) is kept (docs/reference/review.md). */
  readonly usageRetentionDays: number
  /** Seconds between maintenance runs (purges, key schedule). */
  readonly maintenanceIntervalS: number
}

export class ConfigError extends Error {
  constructor (readonly problems: string[]) {
    super(problems.join('\n'))
    this.name = 'ConfigError'
  }
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

type Env = Record<string, string | undefined>

/**
 * Validates the environment; throws ConfigError with one line per problem, each naming the variable.
 * In embedded mode (no DATABASE_URL) a missing TALLY_KEY_ENCRYPTION_KEY is generated once into DATA_DIR.
 */
export function loadConfig (env: Env = process.env): Config {
  const problems: string[] = []

  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    if (!/^\d+$/.test(raw)) { problems.push(`${name}: must be a whole number, got "${raw}"`); return fallback }
    const value = Number(raw)
    if (value < min || value > max) { problems.push(`${name}: must be between ${min} and ${max}, got ${value}`); return fallback }
    return value
  }

  const port = integer('PORT', 8080, 0, 65535)
  const host = env.HOST || '127.0.0.1'
  // docs/reference/configuration.md: the default follows PORT, so `PORT=3000 npm start` serves metadata discovery can match.
  const issuer = (env.ISSUER || `http://localhost:${port}`)
  try {
    const url = new URL(issuer)
    if (url.protocol !== 'https:' && url.protocol !== 'http:') problems.push(`ISSUER: must be an http(s) URL, got "${issuer}"`)
    if (url.search || url.hash) problems.push('ISSUER: must not have a query or fragment (RFC 8414 §2)')
  } catch {
    problems.push(`ISSUER: must be an absolute URL, got "${issuer}"`)
  }

  const trustProxy = parseTrustProxy(env.TRUST_PROXY, problems)

  const databaseUrl = env.DATABASE_URL || undefined
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL: must start with postgres:// or postgresql://')
  }
  const dataDir = resolve(env.DATA_DIR || './data')

  const tokenTtlDefaultS = integer('TOKEN_TTL_DEFAULT_S', 300, 1, 86_400)
  const tokenTtlMaxS = integer('TOKEN_TTL_MAX_S', 3600, 1, 86_400)
  if (tokenTtlDefaultS > tokenTtlMaxS) problems.push(`TOKEN_TTL_DEFAULT_S: must not exceed TOKEN_TTL_MAX_S (${tokenTtlMaxS})`)
  const feedMaxStalenessS = integer('FEED_MAX_STALENESS_S', 10, 1, 3600)
  const keyPrePublicationS = integer('KEY_PREPUBLICATION_S', 60, 0, 86_400)
  const keyRotationIntervalS = integer('KEY_ROTATION_INTERVAL_S', 30 * 86_400, 3600, 365 * 86_400)
  const sessionRetentionS = integer('SESSION_RETENTION_S', 3600, 0, 30 * 86_400)
  const feedRetentionS = integer('FEED_RETENTION_S', 86_400, 60, 30 * 86_400)
  const usageRetentionDays = integer('USAGE_RETENTION_DAYS', 400, 1, 3650)
  const maintenanceIntervalS = integer('MAINTENANCE_INTERVAL_S', 60, 1, 3600)
  const logLevel = env.LOG_LEVEL || 'info'
  if (!LOG_LEVELS.has(logLevel)) problems.push(`LOG_LEVEL: must be one of ${[...LOG_LEVELS].join(', ')}, got "${logLevel}"`)

  const bootstrapAdminSecret = env.TALLY_BOOTSTRAP_ADMIN_SECRET || undefined
  if (bootstrapAdminSecret !== undefined && bootstrapAdminSecret.length < 32) {
    problems.push('TALLY_BOOTSTRAP_ADMIN_SECRET: must be at least 32 characters')
  }

  let keyEncryptionKey: Buffer = Buffer.alloc(0)
  const rawKek = env.TALLY_KEY_ENCRYPTION_KEY
  if (rawKek) {
    keyEncryptionKey = Buffer.from(rawKek, 'base64')
    if (keyEncryptionKey.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(rawKek)) {
      problems.push('TALLY_KEY_ENCRYPTION_KEY: must be 32 bytes encoded in base64')
    }
  } else if (databaseUrl !== undefined) {
    problems.push('TALLY_KEY_ENCRYPTION_KEY: required when DATABASE_URL is set (32 bytes, base64)')
  } else if (problems.length === 0) {
    keyEncryptionKey = embeddedKeyEncryptionKey(dataDir)
  }

  if (problems.length > 0) throw new ConfigError(problems)
  return Object.freeze({
    port,
    host,
    issuer: issuer.replace(/\/+$/, ''),
    trustProxy,
    databaseUrl,
    dataDir,
    keyEncryptionKey,
    bootstrapAdminSecret,
    tokenTtlDefaultS,
    tokenTtlMaxS,
    feedMaxStalenessS,
    logLevel,
    retryAfterS: 2,
    keyPrePublicationS,
    keyRotationIntervalS,
    sessionRetentionS,
    feedRetentionS,
    usageRetentionDays,
    maintenanceIntervalS
  })
}

/** An address or CIDR block, IPv4 or IPv6 (`10.0.0.0/8`, `::1`, `fd00::/8`). */
function isAddressOrCidr (value: string): boolean {
  const [address, bits, extra] = value.split('/')
  if (extra !== undefined || address === undefined) return false
  const family = isIP(address)
  if (family === 0) return false
  if (bits === undefined) return true
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)
}

/**
 * TRUST_PROXY, with fastify's trustProxy semantics: unset or `false` → off (the socket address is the
 * client's); `true` → the left-most X-Forwarded-For address; a whole number → that many hops are trusted;
 * otherwise a comma-separated list of proxy addresses or CIDRs whose X-Forwarded-For is believed.
 */
function parseTrustProxy (raw: string | undefined, problems: string[]): boolean | number | string[] {
  const value = raw?.trim() ?? ''
  if (value === '' || value === 'false') return false
  if (value === 'true') return true
  if (/^\d+$/.test(value)) {
    const hops = Number(value)
    if (hops < 1 || hops > 32) { problems.push(`TRUST_PROXY: a hop count must be between 1 and 32, got ${hops}`); return false }
    return hops
  }
  const list = value.split(',').map((item) => item.trim())
  const bad = list.find((item) => !isAddressOrCidr(item))
  if (bad !== undefined) {
    problems.push(`TRUST_PROXY: must be true, false, a hop count or a comma-separated list of addresses/CIDRs; "${bad.slice(0, 64)}" is none of these`)
    return false
  }
  return list
}

/** For entry points: the config, or one stderr line per problem and exit 1 (docs/reference/configuration.md). */
export function loadConfigOrExit (env: Env = process.env): Config {
  try {
    return loadConfig(env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    for (const problem of err.problems) process.stderr.write(`tally: configuration error: ${problem}\n`)
    process.exit(1)
  }
}

// Embedded mode is for a newcomer's machine: the key is generated once, kept beside the database, mode 0600.
function embeddedKeyEncryptionKey (dataDir: string): Buffer {
  const path = join(dataDir, 'key-encryption-key')
  if (existsSync(path)) return Buffer.from(readFileSync(path, 'utf8').trim(), 'base64')
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const key = randomBytes(32)
  writeFileSync(path, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' })
  return key
}
