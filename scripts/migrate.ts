// `npm run migrate`: applies every pending migration to the database the environment names (docs/reference/operations.md) —
// Postgres at DATABASE_URL, or embedded PGlite under DATA_DIR — under the same advisory lock the server
// takes at start, so it is safe beside running instances on Postgres. Logs each migration applied and
// exits 1 with one clear line on any error. From a production image: `node dist/scripts/migrate.js`.
// Embedded PGlite is one process's database: stop the server on that DATA_DIR before running this.
import { loadConfigOrExit, type Config } from '../server/config.js'
import { migrateToLatest, openStore, type Store } from '../server/store/database.js'

/** A readable reason: connection failures can be an AggregateError with an empty message. */
function describeError (err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  if (err.message !== '') return err.message
  const inner = err instanceof AggregateError ? err.errors[0] : undefined
  if (inner instanceof Error && inner.message !== '') return inner.message
  return (err as NodeJS.ErrnoException).code ?? err.name
}

function fail (message: string): never {
  process.stderr.write(`tally: ${message}\n`)
  process.exit(1)
}

/** Where the migrations go, without the password a DATABASE_URL may carry. */
function describeTarget (config: Config): string {
  if (config.databaseUrl === undefined) return `embedded PGlite in ${config.dataDir}`
  try {
    const url = new URL(config.databaseUrl)
    return `Postgres at ${url.host}${url.pathname}`
  } catch {
    return 'Postgres at DATABASE_URL'
  }
}

async function migrate (): Promise<void> {
  const config = loadConfigOrExit()

  process.stdout.write(`tally: migrating ${describeTarget(config)}\n`)
  let store: Store
  try {
    store = await openStore({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      logger: { warn: (_obj, msg) => process.stderr.write(`tally: ${msg}\n`) },
      poolMax: 1
    })
  } catch (err) {
    fail(`cannot open the database: ${describeError(err)}`)
  }

  try {
    const applied = await migrateToLatest(store.db)
    for (const name of applied) process.stdout.write(`tally: migration "${name}" applied\n`)
    process.stdout.write(applied.length === 0 ? 'tally: database schema is up to date\n' : `tally: ${applied.length} migration(s) applied\n`)
  } catch (err) {
    await store.close().catch(() => {})
    fail(`migration failed: ${describeError(err)}`)
  }
  await store.close()
}

migrate().catch((err) => fail(`migration failed: ${describeError(err)}`))
