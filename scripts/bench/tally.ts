// Tally under test: a private Postgres schema per run, the compiled server started as a child process,
// and identities seeded with set-based SQL (the admin API is not needed to seed; the secret hashes are
// computed with Tally's own deriveSecretHashKey/hashSecret).
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import pg from 'pg'
import { deriveSecretHashKey, hashSecret } from '../../server/keys/crypto.js'
import { clientId, clientSecret, JWT_RESOURCE, RS_CLIENT_ID, RS_CLIENT_SECRET, SCOPES } from './fixtures.js'
import { BUILD_DIR, freePort, startServer, tempDir, type Server } from './servers.js'

export const BASE_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export interface TallyDeployment {
  schema: string
  databaseUrl: string
  kek: Buffer
  admin: pg.Client
  /** Drops the schema. */
  drop: () => Promise<void>
}

/** Creates schema tally_bench_<rand>; the URL sets search_path to it and tags connections with its name. */
export async function createDeployment (label = 'bench'): Promise<TallyDeployment> {
  const schema = `tally_${label}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: BASE_DATABASE_URL })
  await admin.connect()
  await admin.query(`create schema ${schema}`)
  await admin.query(`set search_path to ${schema}`)
  const url = new URL(BASE_DATABASE_URL)
  url.searchParams.set('options', `-c search_path=${schema}`)
  // pg lets the connection string override the pool's application_name: the bench finds the
  // Postgres backends serving this Tally (to meter their CPU) by this name.
  url.searchParams.set('application_name', schema)
  return {
    schema,
    databaseUrl: url.toString(),
    kek: randomBytes(32),
    admin,
    drop: async () => {
      await admin.query(`drop schema if exists ${schema} cascade`).catch(() => {})
      await admin.end().catch(() => {})
    }
  }
}

export interface TallyStart {
  workers?: number
  nodeArgs?: string[]
  env?: Record<string, string>
}

/** Starts dist/server/main.js (or the bench's cluster wrapper when workers > 1) on the deployment. */
export async function startTally (dep: TallyDeployment, options: TallyStart = {}): Promise<Server> {
  const port = await freePort()
  const workers = options.workers ?? 1
  const script = workers > 1 ? join(BUILD_DIR, 'scripts', 'bench', 'cluster-main.js') : join(BUILD_DIR, 'server', 'main.js')
  return await startServer({
    name: 'tally',
    script,
    nodeArgs: options.nodeArgs ?? [],
    port,
    readyPath: '/readyz',
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: `http://127.0.0.1:${port}`,
      DATABASE_URL: dep.databaseUrl,
      DATA_DIR: tempDir('tally-bench-data-'),
      TALLY_KEY_ENCRYPTION_KEY: dep.kek.toString('base64'),
      TALLY_BOOTSTRAP_ADMIN_SECRET: randomBytes(32).toString('base64url'),
      LOG_LEVEL: 'warn',
      BENCH_WORKERS: String(workers),
      ...options.env
    }
  })
}

/** Postgres backends currently connected for this deployment (by application_name). */
export async function backendPids (dep: TallyDeployment): Promise<number[]> {
  const { rows } = await dep.admin.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [dep.schema])
  return rows.map((r) => r.pid)
}

export interface SeedOptions {
  /** Bench clients bench-client-0 … bench-client-<identities-1>. */
  identities: number
  /** How many of them get their real secret's hash (the rest a filler hash: they exist but are never loaded). */
  hashed: number
}

/**
 * Seeds (after Tally has migrated the schema): resource JWT_RESOURCE, the introspector bench-rs, and
 * `identities` clients each with one secret and one entitlement to read+write. Set-based: one
 * statement per table, whatever the count. Idempotent per client_id range (starts after the last one).
 */
export async function seedTally (dep: TallyDeployment, options: SeedOptions): Promise<void> {
  const db = dep.admin
  const hashKey = deriveSecretHashKey(dep.kek)
  await db.query('begin')
  await db.query('set local synchronous_commit = off')
  let { rows: [resource] } = await db.query<{ id: string }>('select id from resources where identifier = $1', [JWT_RESOURCE])
  if (resource === undefined) {
    resource = (await db.query<{ id: string }>('insert into resources (identifier, name, scopes) values ($1, $2, $3) returning id',
      [JWT_RESOURCE, 'bench API', SCOPES])).rows[0]
    const rs = (await db.query<{ id: string }>(`insert into identities (client_id, kind) values ($1, 'resource_server') returning id`, [RS_CLIENT_ID])).rows[0] as { id: string }
    await db.query(`insert into credentials (identity_id, type, secret_hash, secret_prefix) values ($1, 'client_secret', $2, 'tly_RRRR')`,
      [rs.id, hashSecret(hashKey, RS_CLIENT_SECRET)])
    await db.query('insert into resource_introspectors (resource_id, identity_id) values ($1, $2)', [resource?.id, rs.id])
  }
  const resourceId = (resource as { id: string }).id
  const counted = await db.query<{ n: number }>(`select count(*)::int as n from identities where client_id like 'bench-client-%'`)
  const from = counted.rows[0]?.n ?? 0
  const to = options.identities
  if (to > from) {
    await db.query(`insert into identities (client_id, kind)
      select 'bench-client-' || g, 'service_account' from generate_series($1::int, $2::int) g`, [from, to - 1])
    const ids: string[] = []
    const hashes: Buffer[] = []
    for (let i = from; i < Math.min(to, options.hashed); i++) { ids.push(clientId(i)); hashes.push(hashSecret(hashKey, clientSecret(i))) }
    // The clients never loaded get a filler hash that matches no secret.
    await db.query(`insert into credentials (identity_id, type, secret_hash, secret_prefix)
      select i.id, 'client_secret', coalesce(h.hash, sha256(convert_to('filler:' || i.client_id, 'UTF8'))), 'tly_benc'
      from generate_series($1::int, $2::int) g
      join identities i on i.client_id = 'bench-client-' || g and i.status <> 'deleted'
      left join unnest($3::text[], $4::bytea[]) as h(client_id, hash) on h.client_id = i.client_id`, [from, to - 1, ids, hashes])
    await db.query(`insert into entitlements (identity_id, resource_id, scopes, reason)
      select i.id, $3, $4::text[], 'bench'
      from generate_series($1::int, $2::int) g
      join identities i on i.client_id = 'bench-client-' || g and i.status <> 'deleted'`, [from, to - 1, resourceId, SCOPES])
  }
  await db.query('commit')
  await db.query('analyze identities; analyze credentials; analyze entitlements')
}
