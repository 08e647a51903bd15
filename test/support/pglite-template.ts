// A migrated PGlite data directory that every test file starts from, so no file pays for initdb and the
// migrations (≈ 3 s of a cold PGlite start, far more on a busy machine). `npm test` builds it before the
// first file runs (support/before.ts; a file run alone builds it if it is missing) and leaves it in the
// temp dir under a name keyed by the migrations, the PGlite build and this file;
// every file — in this run and later ones — copies it into a DATA_DIR of its own and opens that as the
// server opens a DATA_DIR, so files stay independent.
//
// A directory copied on disk, not a dump loaded with `loadDataDir`: PGlite unpacks a dump file by file
// into its in-memory file system in JavaScript (≈ 1.3 s of CPU per test file here), where the kernel
// copies the 40 MB in ≈ 30 ms and Postgres then reads only the pages it needs. On tmpfs (/dev/shm) where
// there is one: on this machine's disk-backed /tmp, a run's ~60 copies (2.5 GB written) stalled each
// copy and each removal for up to 2 s in the kernel's dirty-page writeback.
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, sql } from '../../server/store/kysely.js'
import { migrateToLatest, type Database } from '../../server/store/database.js'
import { PGliteDialect } from '../../server/store/pglite-dialect.js'

const MIGRATIONS_DIR = new URL('../../migrations/', import.meta.url)
const SCRATCH_DIR = existsSync('/dev/shm') ? '/dev/shm' : tmpdir()

/** The template's path: changes whenever a migration, the PGlite build or this file changes. */
function templatePath (): string {
  const hash = createHash('sha256')
  // The PGlite build, by its wasm's bytes (~20 ms to hash). Not by mtime: every `npm ci` writes the file
  // anew, so a fresh clone would build (and leave in the temp dir) a template of its own.
  hash.update('pglite ').update(readFileSync(fileURLToPath(import.meta.resolve('@electric-sql/pglite').replace(/index\.js$/, 'pglite.wasm')))).update('\n')
  // This file: how the template is built.
  hash.update(readFileSync(fileURLToPath(import.meta.url)))
  for (const name of readdirSync(MIGRATIONS_DIR).sort()) {
    hash.update(`${name}\n`).update(readFileSync(new URL(name, MIGRATIONS_DIR)))
  }
  return join(SCRATCH_DIR, `tally-test-pglite-${hash.digest('hex').slice(0, 16)}`)
}

/** Runs initdb and the migrations into a DATA_DIR of its own, then moves it to `path` whole. */
async function buildTemplate (path: string): Promise<void> {
  const partial = mkdtempSync(`${path}.partial-`)
  const pglite = await PGlite.create(join(partial, 'pglite'))
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) })
  try {
    await migrateToLatest(db)
    // For the copies' next start: a test database is small, and Postgres's 128 MB buffer pool costs PGlite
    // ≈ 0.2 s of CPU per start to allocate and initialise (≈ 65 starts a run). The server keeps the default.
    await sql`alter system set shared_buffers = '16MB'`.execute(db)
  } finally {
    await db.destroy()
    await pglite.close()
  }
  // Several files may build at once: the first rename wins, the others find `path` taken and drop theirs.
  try {
    renameSync(partial, path)
  } catch (err) {
    rmSync(partial, { recursive: true, force: true })
    if (!existsSync(path)) throw err
  }
}

let template: Promise<string> | undefined

/**
 * The template's path, built first if it is not there yet; at most once per process. `npm test` runs this
 * once before any test file (support/before.ts), so that the first files do not all build it at once.
 */
export async function migratedTemplate (): Promise<string> {
  template ??= (async () => {
    const path = templatePath()
    if (!existsSync(path)) await buildTemplate(path)
    return path
  })()
  return await template
}

/** A new DATA_DIR holding a migrated database in `pglite/`, for `openStore({ dataDir })`; the caller removes it. */
export async function migratedDataDir (): Promise<string> {
  const source = await migratedTemplate()
  const dir = mkdtempSync(join(SCRATCH_DIR, 'tally-test-db-'))
  cpSync(source, dir, { recursive: true })
  return dir
}
