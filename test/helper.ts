// Test harness, the entry of every test file: a real database per test file — embedded PGlite by
// default, or a private schema in the Postgres at DATABASE_URL — shared by every app the file builds
// (`build`), the bootstrap admin's token and calls to the admin API, the form and Basic encodings with
// a plain client_credentials request, and JWT segments decoded or encoded by hand. What tests make
// through these lives in support/: admin.ts (resources, identities, entitlements), oauth.ts (the OAuth
// endpoints), instances.ts (listening instances, the feed fixture), wait.ts (waiting on a condition).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes, randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import pg from 'pg'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../server/app.js'
import { loadConfig, type Config } from '../server/config.js'
import { openStore, type Store } from '../server/store/database.js'
import { migratedDataDir } from './support/pglite-template.js'

export const ADMIN_SECRET = 'tly_test-bootstrap-admin-secret-0123456789abcdef'
export const KEK = Buffer.alloc(32, 7).toString('base64')
export const ISSUER = 'http://localhost:8080'

interface Teardown { teardown: (fn: () => unknown) => void }

/** A new empty directory (a DATA_DIR, say) under one temp dir of this process, removed when the process exits. */
let testDataRoot: string | undefined
export function testDataDir (): string {
  if (testDataRoot === undefined) {
    const root = mkdtempSync(join(tmpdir(), 'tally-test-'))
    process.once('exit', () => { rmSync(root, { recursive: true, force: true }) })
    testDataRoot = root
  }
  return mkdtempSync(join(testDataRoot, 'data-'))
}

export function testConfig (overrides: Record<string, string> = {}): Config {
  return loadConfig({
    DATA_DIR: testDataDir(),
    TALLY_KEY_ENCRYPTION_KEY: KEK,
    TALLY_BOOTSTRAP_ADMIN_SECRET: ADMIN_SECRET,
    ISSUER,
    LOG_LEVEL: 'silent',
    ...(process.env.DATABASE_URL !== undefined && { DATABASE_URL: process.env.DATABASE_URL }),
    ...overrides
  })
}

/** A Postgres URL whose connections use a fresh schema of their own; the schema is dropped at teardown. */
export async function privateSchemaUrl (t: Teardown, baseUrl: string): Promise<string> {
  const schema = `tally_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: baseUrl })
  await admin.connect()
  await admin.query(`create schema ${schema}`)
  await admin.end()
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: baseUrl })
    await c.connect()
    await c.query(`drop schema ${schema} cascade`)
    await c.end()
  })
  const url = new URL(baseUrl)
  url.searchParams.set('options', `-c search_path=${schema}`)
  return url.toString()
}

const stores = new WeakMap<object, { store: Store, databaseUrl: string | undefined }>()

/**
 * One database per test file, pass the file's top-level `t`: on Postgres a private schema, on PGlite a
 * copy of the migrated template (support/pglite-template.ts) in a DATA_DIR of the file's own, so files
 * stay independent and none runs initdb.
 */
export async function sharedStore (t: Teardown & object): Promise<{ store: Store, databaseUrl: string | undefined }> {
  const existing = stores.get(t)
  if (existing !== undefined) return existing
  const databaseUrl = process.env.DATABASE_URL !== undefined ? await privateSchemaUrl(t, process.env.DATABASE_URL) : undefined
  const dataDir = databaseUrl === undefined ? await migratedDataDir() : 'memory://'
  const store = await openStore({ databaseUrl, dataDir })
  t.teardown(async () => {
    await store.close()
    if (databaseUrl === undefined) rmSync(dataDir, { recursive: true, force: true })
  })
  const entry = { store, databaseUrl }
  stores.set(t, entry)
  return entry
}

/** A ready app on the file's shared database. */
export async function build (t: Teardown & object, overrides: Record<string, string> = {}): Promise<FastifyInstance> {
  const { store, databaseUrl } = await sharedStore(t)
  const config = testConfig({ ...(databaseUrl !== undefined && { DATABASE_URL: databaseUrl }), ...overrides })
  const app = await buildApp(config, { store, logger: false })
  t.teardown(() => app.close())
  return app
}

export function form (params: Record<string, string | string[]>): string {
  const body = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) for (const item of Array.isArray(v) ? v : [v]) body.append(k, item)
  return body.toString()
}

export function basic (clientId: string, secret: string): string {
  const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+')
  return 'Basic ' + Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')
}

export const FORM_TYPE = 'application/x-www-form-urlencoded'

export async function requestToken (app: FastifyInstance, clientId: string, secret: string, params: Record<string, string | string[]> = {}): Promise<LightMyRequestResponse> {
  return await app.inject({
    method: 'POST',
    url: '/token',
    headers: { authorization: basic(clientId, secret), 'content-type': FORM_TYPE },
    payload: form({ grant_type: 'client_credentials', ...params })
  })
}

/** An access token for the admin API, from the bootstrap admin. */
export async function adminToken (app: FastifyInstance, scope = 'admin:read admin:write admin:revoke'): Promise<string> {
  const res = await requestToken(app, 'admin', ADMIN_SECRET, { resource: 'urn:tally:admin', scope })
  if (res.statusCode !== 200) throw new Error(`admin token: ${res.statusCode} ${res.body}`)
  return res.json().access_token
}

export async function adminCall (app: FastifyInstance, token: string, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown): Promise<LightMyRequestResponse> {
  return await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { payload: JSON.stringify(body) })
  })
}

export const uniqueId = (prefix = 'svc'): string => `${prefix}-${randomUUID().slice(0, 8)}`

/** Decodes a JWT's payload without verifying it (tests only). */
export function decodePayload (jwt: string): Record<string, any> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString('utf8'))
}
export function decodeHeader (jwt: string): Record<string, any> {
  return JSON.parse(Buffer.from(jwt.split('.')[0] as string, 'base64url').toString('utf8'))
}
/** The reverse: `value` as a JWT segment (JSON, base64url), to build forged or altered tokens. */
export const encodeSegment = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/** A port free on 127.0.0.1 right now (for tests that need a real listening server with a known ISSUER). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

/**
 * Node arguments for a test that runs server/main.ts as a real process: the sources through tsx, and
 * PGlite's wasm on Liftoff only, as package.json's tap config runs the tests (a test process compiles
 * the 9 MB Postgres build once and briefly; TurboFan's recompile would cost more CPU than it ever saves).
 */
export const SERVER_NODE_ARGS = ['--import', 'tsx', '--liftoff-only']
