// One Database interface over two engines: node-postgres when DATABASE_URL is set, embedded PGlite under
// DATA_DIR otherwise. Same migrations, same SQL. Store functions take `db` first so that a transaction can
// be passed in their place.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Kysely, PostgresDialect, sql, type ColumnType, type Generated, type Selectable } from './kysely.js'
import pg from 'pg'
import { Migrator } from './kysely.js'
import { migrationProvider } from '../../migrations/index.js'
import { PGliteDialect } from './pglite-dialect.js'
import { PreparingClient } from './prepared-client.js'

type Timestamp = ColumnType<Date, Date | string, Date | string>
type GeneratedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>
type Json = ColumnType<unknown, string, string>

export interface IdentityTable {
  id: Generated<string>
  client_id: string
  kind: string
  name: string | null
  status: Generated<'active' | 'disabled' | 'deleted'>
  epoch: Generated<number>
  token_ttl_s: number | null
  metadata: ColumnType<Record<string, unknown>, string | undefined, string>
  created_at: GeneratedTimestamp
  updated_at: GeneratedTimestamp
}

export interface ResourceTable {
  id: Generated<string>
  identifier: string
  /** RFC 3986 §6.2 comparison key of `identifier` (resourceKey); null only for pre-existing duplicates. */
  identifier_key: string | null
  name: string | null
  scopes: string[]
  max_token_ttl_s: number | null
  builtin: Generated<boolean>
  created_at: GeneratedTimestamp
  updated_at: GeneratedTimestamp
}

export interface ResourceIntrospectorTable {
  resource_id: string
  identity_id: string
}

export interface CredentialTable {
  id: Generated<string>
  identity_id: string
  type: 'client_secret' | 'jwk' | 'federated'
  secret_hash: Uint8Array | null
  secret_prefix: string | null
  jwk: Json | null
  // Federated credentials (docs/reference/federation.md; migration 2026_12_01_13_00_00_federation).
  trust_id: ColumnType<string | null, string | undefined, string | null>
  issuer: ColumnType<string | null, string | undefined, string | null>
  subject: ColumnType<string | null, string | undefined, string | null>
  match: ColumnType<unknown, string | undefined, string | null>
  expires_at: Timestamp | null
  revoked_at: Timestamp | null
  created_at: GeneratedTimestamp
}

export interface EntitlementTable {
  id: Generated<string>
  identity_id: string
  resource_id: string
  scopes: string[]
  conditions: Json | null
  expires_at: Timestamp | null
  reason: string | null
  granted_by: string | null
  created_at: GeneratedTimestamp
  updated_at: GeneratedTimestamp
}

export interface SessionTable {
  jti: string
  identity_id: string
  epoch: number
  resource_id: string
  scope: string
  iat: Timestamp
  exp: Timestamp
  credential_id: string | null
  token_hash: Uint8Array
  kid: string
  revoked_at: Timestamp | null
  /** The entitlements the token carried (usage for the access review, docs/reference/review.md). */
  entitlement_ids: ColumnType<string[] | null, string[] | null | undefined, string[] | null>
}

export interface EpochEventTable {
  seq: Generated<string>
  type: 'epoch' | 'revoked' | 'key'
  /** Null for a key event. */
  identity_id: string | null
  /** The removed signing key of a key event. */
  kid: string | null
  epoch: number | null
  jti: string | null
  exp: Timestamp | null
  reason: string | null
  at: GeneratedTimestamp
}

export interface AuditEventTable {
  id: Generated<string>
  at: GeneratedTimestamp
  actor: string | null
  action: string
  identity_id: string | null
  before: Json | null
  after: Json | null
}

export interface SigningKeyTable {
  kid: string
  alg: string
  public_jwk: Json
  private_key: Uint8Array
  state: 'next' | 'active' | 'retired' | 'removed'
  created_at: GeneratedTimestamp
  activates_at: Timestamp
  retired_at: Timestamp | null
  expires_at: Timestamp | null
}

export interface UsedAssertionTable {
  identity_id: string
  jti: string
  exp: Timestamp
}

/** A trusted platform issuer (docs/reference/federation.md). */
export interface TrustTable {
  id: Generated<string>
  issuer: string
  jwks_uri: string | null
  audience: string
  claims: ColumnType<Record<string, string>, string | undefined, string>
  max_assertion_lifetime_s: Generated<number>
  name: string | null
  created_at: GeneratedTimestamp
  updated_at: GeneratedTimestamp
  deleted_at: Timestamp | null
}

export interface Database {
  identities: IdentityTable
  resources: ResourceTable
  resource_introspectors: ResourceIntrospectorTable
  credentials: CredentialTable
  entitlements: EntitlementTable
  sessions: SessionTable
  epoch_events: EpochEventTable
  audit_events: AuditEventTable
  signing_keys: SigningKeyTable
  used_assertions: UsedAssertionTable
  trusts: TrustTable
}

export type Db = Kysely<Database>
export type IdentityRow = Selectable<IdentityTable>
export type ResourceRow = Selectable<ResourceTable>
export type TrustRow = Selectable<TrustTable>

/** A notification listener; returns a function that stops listening. */
export type Listen = (channel: string, onPayload: (payload: string) => void) => Promise<() => Promise<void>>

/**
 * An open database. How to LISTEN differs: PGlite runs in this process and listens on its one connection;
 * on Postgres a listener needs a connection of its own, which store/listener.ts opens (and reopens) from
 * `connectionString`.
 */
export type Store = {
  readonly db: Db
  close: () => Promise<void>
} & ({ readonly engine: 'postgres', readonly connectionString: string } | { readonly engine: 'pglite', readonly listen: Listen })

export interface StoreOptions {
  databaseUrl: string | undefined
  dataDir: string
  logger?: { warn: (obj: object, msg: string) => void }
  /** Pool size for node-postgres. */
  poolMax?: number
}

// node-postgres waits forever for a connection by default; these bound every wait (docs/reference/errors.md: never a hang).
const CONNECT_TIMEOUT_MS = 2000
const STATEMENT_TIMEOUT_MS = 5000

export async function openStore (options: StoreOptions): Promise<Store> {
  return options.databaseUrl !== undefined
    ? openPostgres(options.databaseUrl, options)
    : await openPGlite(options.dataDir)
}

function openPostgres (connectionString: string, options: StoreOptions): Store {
  const pool = new pg.Pool({
    connectionString,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: STATEMENT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    application_name: 'tally',
    Client: PreparingClient
  })
  // An idle client that loses its server emits here; without a listener the process would crash.
  pool.on('error', (err) => options.logger?.warn({ err: { message: err.message } }, 'idle database connection lost'))
  // pg-pool removes its error listener from a client while it is checked out, and a client whose server
  // goes away mid-query also emits 'error' (after failing the query, which becomes a 503): without a
  // listener of our own that event would crash the process. The pool drops such a client on release.
  pool.on('connect', (client) => { client.on('error', () => {}) })
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })

  return { db, engine: 'postgres', connectionString, close: async () => { await db.destroy() } }
}

async function openPGlite (dataDir: string): Promise<Store> {
  const { PGlite } = await import('@electric-sql/pglite')
  let pglite
  if (dataDir === 'memory://') {
    pglite = await PGlite.create('memory://')
  } else {
    const dir = join(dataDir, 'pglite')
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    pglite = await PGlite.create(dir)
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) })
  const listen: Listen = async (channel, onPayload) => {
    const unsubscribe = await pglite.listen(channel, onPayload)
    return async () => { await unsubscribe() }
  }
  return {
    db,
    engine: 'pglite',
    listen,
    close: async () => { await db.destroy(); await pglite.close() }
  }
}

/** Readiness: one `select 1`. Reads nothing, locks nothing; resolves once the database answers, throws if it does not. */
export async function ping (db: Db): Promise<void> {
  await sql`select 1`.execute(db)
}

// Fixed key for pg_advisory_lock: several instances starting at once on an empty database migrate one at a time.
const MIGRATION_LOCK_KEY = 0x7a11_0001

/** Applies every pending migration under an advisory lock; idempotent. Returns the names applied. */
export async function migrateToLatest (db: Db): Promise<string[]> {
  return await db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(conn)
    try {
      // Kysely looks for its migration tables in every schema unless told which one: another schema holding
      // them (another app, another Tally) would make it skip creating ours and then fail on a missing table.
      const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(conn)
      const migrator = new Migrator({ db: conn, provider: migrationProvider, migrationTableSchema: (rows[0] as { schema: string }).schema })
      // Kysely's table check scans every schema of the database; one dropped by another tenant during the
      // scan fails it with 3F000 ("schema does not exist") before anything was migrated: scan again.
      for (let attempt = 1; ; attempt++) {
        const { error, results } = await migrator.migrateToLatest()
        if (error === undefined) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
        if ((error as { code?: string }).code !== '3F000' || attempt === 3 || (results ?? []).length > 0) throw error
      }
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(conn)
    }
  })
}
