// docs/reference/configuration.md configuration: every bad value stops the process with one line naming the variable; the defaults
// are the documented ones. docs/reference/operations.md health endpoints, and docs/reference/endpoints.md discovery and JWKS, which verifiers read without auth.
import t from './support/tap.js'
import { spawn } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { calculateJwkThumbprint, createLocalJWKSet, jwtVerify } from 'jose'
import { ConfigError, loadConfig } from '../server/config.js'
import { adminToken, build, ISSUER, KEK, SERVER_NODE_ARGS, testDataDir } from './helper.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** The problem lines loadConfig reports for this environment (fails the test if it accepts it). */
function problemsOf (env: Record<string, string>): string[] {
  try {
    loadConfig({ DATA_DIR: testDataDir(), ...env })
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

t.test('bad configuration is refused with one line naming the variable', async (t) => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['PORT not a number', { PORT: 'abc' }, 'PORT: must be a whole number, got "abc"'],
    ['PORT negative', { PORT: '-1' }, 'PORT: must be a whole number, got "-1"'],
    ['PORT out of range', { PORT: '70000' }, 'PORT: must be between 0 and 65535, got 70000'],
    ['ISSUER not a URL', { ISSUER: 'localhost:8080/x' }, 'ISSUER: must be an http(s) URL, got "localhost:8080/x"'],
    ['ISSUER relative', { ISSUER: '/tally' }, 'ISSUER: must be an absolute URL, got "/tally"'],
    ['ISSUER not http(s)', { ISSUER: 'ftp://tally.example' }, 'ISSUER: must be an http(s) URL, got "ftp://tally.example"'],
    ['ISSUER with a query', { ISSUER: 'https://tally.example?x=1' }, 'ISSUER: must not have a query or fragment (RFC 8414 §2)'],
    ['ISSUER with a fragment', { ISSUER: 'https://tally.example#x' }, 'ISSUER: must not have a query or fragment (RFC 8414 §2)'],
    ['DATABASE_URL not postgres', { DATABASE_URL: 'mysql://db/tally', TALLY_KEY_ENCRYPTION_KEY: KEK }, 'DATABASE_URL: must start with postgres:// or postgresql://'],
    ['DATABASE_URL without a key', { DATABASE_URL: 'postgres://db/tally' }, 'TALLY_KEY_ENCRYPTION_KEY: required when DATABASE_URL is set (32 bytes, base64)'],
    ['key too short', { TALLY_KEY_ENCRYPTION_KEY: Buffer.alloc(16, 1).toString('base64') }, 'TALLY_KEY_ENCRYPTION_KEY: must be 32 bytes encoded in base64'],
    ['key too long', { TALLY_KEY_ENCRYPTION_KEY: Buffer.alloc(33, 1).toString('base64') }, 'TALLY_KEY_ENCRYPTION_KEY: must be 32 bytes encoded in base64'],
    ['key not base64', { TALLY_KEY_ENCRYPTION_KEY: '!'.repeat(44) }, 'TALLY_KEY_ENCRYPTION_KEY: must be 32 bytes encoded in base64'],
    ['key hex, not base64', { TALLY_KEY_ENCRYPTION_KEY: 'ab'.repeat(32) }, 'TALLY_KEY_ENCRYPTION_KEY: must be 32 bytes encoded in base64'],
    ['LOG_LEVEL unknown', { LOG_LEVEL: 'verbose' }, 'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"'],
    ['TOKEN_TTL_DEFAULT_S above TOKEN_TTL_MAX_S', { TOKEN_TTL_DEFAULT_S: '7200' }, 'TOKEN_TTL_DEFAULT_S: must not exceed TOKEN_TTL_MAX_S (3600)'],
    ['TOKEN_TTL_DEFAULT_S above a lowered max', { TOKEN_TTL_DEFAULT_S: '600', TOKEN_TTL_MAX_S: '300' }, 'TOKEN_TTL_DEFAULT_S: must not exceed TOKEN_TTL_MAX_S (300)'],
    ['TOKEN_TTL_MAX_S zero', { TOKEN_TTL_MAX_S: '0' }, 'TOKEN_TTL_MAX_S: must be between 1 and 86400, got 0'],
    ['TOKEN_TTL_DEFAULT_S fractional', { TOKEN_TTL_DEFAULT_S: '1.5' }, 'TOKEN_TTL_DEFAULT_S: must be a whole number, got "1.5"'],
    ['FEED_MAX_STALENESS_S zero', { FEED_MAX_STALENESS_S: '0' }, 'FEED_MAX_STALENESS_S: must be between 1 and 3600, got 0'],
    ['bootstrap secret too short', { TALLY_BOOTSTRAP_ADMIN_SECRET: 'short' }, 'TALLY_BOOTSTRAP_ADMIN_SECRET: must be at least 32 characters']
  ]
  for (const [name, env, line] of cases) t.strictSame(problemsOf(env), [line], name)
})

t.test('every problem is reported at once, one line each, in order', async (t) => {
  const dataDir = testDataDir()
  let error: unknown
  try {
    loadConfig({ DATA_DIR: dataDir, PORT: 'eighty', ISSUER: 'nope', LOG_LEVEL: 'loud', DATABASE_URL: 'postgres://db/tally' })
  } catch (err) {
    error = err
  }
  t.type(error, ConfigError)
  const problems = [
    'PORT: must be a whole number, got "eighty"',
    'ISSUER: must be an absolute URL, got "nope"',
    'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    'TALLY_KEY_ENCRYPTION_KEY: required when DATABASE_URL is set (32 bytes, base64)'
  ]
  t.strictSame((error as ConfigError).problems, problems)
  t.equal((error as ConfigError).message, problems.join('\n'))
  // A refused configuration leaves nothing behind: no key is generated for it.
  t.throws(() => statSync(join(dataDir, 'key-encryption-key')), { code: 'ENOENT' })
})

t.test('defaults are the ones docs/reference/configuration.md gives', async (t) => {
  const config = loadConfig({ DATABASE_URL: 'postgres://db/tally', TALLY_KEY_ENCRYPTION_KEY: KEK })
  t.ok(Object.isFrozen(config), 'the config is frozen')
  t.equal(config.port, 8080)
  t.equal(config.host, '127.0.0.1')
  t.equal(config.issuer, 'http://localhost:8080')
  t.equal(config.dataDir, resolve('./data'))
  t.equal(config.tokenTtlDefaultS, 300)
  t.equal(config.tokenTtlMaxS, 3600)
  t.equal(config.feedMaxStalenessS, 10)
  t.equal(config.logLevel, 'info')
  t.equal(config.bootstrapAdminSecret, undefined)
  t.ok(config.keyEncryptionKey.equals(Buffer.from(KEK, 'base64')))
})

t.test('empty values count as unset, and a trailing slash leaves the issuer', async (t) => {
  const config = loadConfig({ DATA_DIR: testDataDir(), PORT: '', HOST: '', LOG_LEVEL: '', DATABASE_URL: '', ISSUER: 'https://tally.example/', TALLY_KEY_ENCRYPTION_KEY: KEK })
  t.equal(config.port, 8080)
  t.equal(config.host, '127.0.0.1')
  t.equal(config.logLevel, 'info')
  t.equal(config.databaseUrl, undefined)
  t.equal(config.issuer, 'https://tally.example')
})

t.test('embedded mode generates the key once into DATA_DIR, mode 0600', async (t) => {
  const dataDir = testDataDir()
  const first = loadConfig({ DATA_DIR: dataDir })
  const path = join(dataDir, 'key-encryption-key')
  t.equal(first.keyEncryptionKey.length, 32)
  t.equal(statSync(path).mode & 0o777, 0o600)
  t.equal(readFileSync(path, 'utf8').trim(), first.keyEncryptionKey.toString('base64'))
  const second = loadConfig({ DATA_DIR: dataDir })
  t.ok(second.keyEncryptionKey.equals(first.keyEncryptionKey), 'a restart reads the same key')
})

/** Runs server/main.ts with exactly this environment (plus PATH) and collects its exit code and stderr. */
async function runMain (env: Record<string, string>): Promise<{ code: number | null, stderr: string }> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...SERVER_NODE_ARGS, 'server/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe']
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('error', reject)
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stderr }) })
  })
}

t.test('the server refuses to start on bad configuration: exit 1, one line per problem', async (t) => {
  const { code, stderr } = await runMain({ DATA_DIR: testDataDir(), PORT: 'abc', TALLY_KEY_ENCRYPTION_KEY: 'c2hvcnQ=' })
  t.equal(code, 1)
  t.equal(stderr,
    'tally: configuration error: PORT: must be a whole number, got "abc"\n' +
    'tally: configuration error: TALLY_KEY_ENCRYPTION_KEY: must be 32 bytes encoded in base64\n')
})

t.test('the server refuses DATABASE_URL without a key encryption key', async (t) => {
  const { code, stderr } = await runMain({ DATA_DIR: testDataDir(), DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' })
  t.equal(code, 1)
  t.equal(stderr, 'tally: configuration error: TALLY_KEY_ENCRYPTION_KEY: required when DATABASE_URL is set (32 bytes, base64)\n')
})

t.test('/healthz and /readyz answer 200 without auth', async (t) => {
  const app = await build(t)
  const health = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(health.statusCode, 200)
  t.strictSame(health.json(), { status: 'ok' })
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.strictSame(ready.json(), { status: 'ready' })
})

t.test('discovery metadata (RFC 8414) lists the docs/reference/endpoints.md fields with this issuer\'s URLs', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.notMatch(String(res.headers['cache-control']), /no-store/, 'discovery may be cached')
  t.equal(res.headers.pragma, undefined)
  const authMethods = ['client_secret_basic', 'client_secret_post', 'private_key_jwt']
  const assertionAlgs = ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
  t.strictSame(res.json(), {
    // docs/reference/endpoints.md
    issuer: ISSUER,
    token_endpoint: `${ISSUER}/token`,
    introspection_endpoint: `${ISSUER}/introspect`,
    revocation_endpoint: `${ISSUER}/revoke`,
    jwks_uri: `${ISSUER}/.well-known/jwks.json`,
    grant_types_supported: ['client_credentials', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'urn:ietf:params:oauth:grant-type:token-exchange'],
    token_endpoint_auth_methods_supported: authMethods,
    token_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    introspection_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_methods_supported: authMethods,
    scopes_supported: ['admin:read', 'admin:write', 'admin:revoke'],
    epochs_endpoint: `${ISSUER}/epochs`,
    // RFC 8414 §2 members beyond the documented list: response_types_supported is REQUIRED there (no
    // authorization endpoint, so none); the signing algorithms go with private_key_jwt on each endpoint.
    response_types_supported: [],
    // docs/reference/mcp.md: required by the MCP SDK's schema; it answers only RFC 6749 errors (routes/authorize.ts).
    authorization_endpoint: `${ISSUER}/authorize`,
    introspection_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    revocation_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    access_token_signing_alg_values_supported: ['ES256']
  })
})

t.test('the issuer in metadata follows ISSUER', async (t) => {
  const app = await build(t, { ISSUER: 'https://auth.example.com/tally/' })
  const res = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })
  const metadata = res.json()
  t.equal(metadata.issuer, 'https://auth.example.com/tally')
  t.equal(metadata.token_endpoint, 'https://auth.example.com/tally/token')
  t.equal(metadata.jwks_uri, 'https://auth.example.com/tally/.well-known/jwks.json')
})

t.test('the JWKS publishes public members only, and verifies Tally\'s tokens', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/jwk-set\+json/)
  t.notMatch(String(res.headers['cache-control']), /no-store/, 'the JWKS may be cached')
  const jwks = res.json()
  t.strictSame(Object.keys(jwks), ['keys'])
  t.ok(jwks.keys.length >= 1, 'at least the active key')
  for (const key of jwks.keys) {
    t.strictSame(Object.keys(key).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'], `key ${key.kid} has public members only`)
    t.match(key, { kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })
    t.equal(key.kid, await calculateJwkThumbprint(key), 'kid is the RFC 7638 thumbprint')
  }

  const token = await adminToken(app)
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: ISSUER, audience: 'urn:tally:admin', typ: 'at+jwt' })
  t.equal(protectedHeader.alg, 'ES256')
  t.equal(payload.client_id, 'admin')
})
