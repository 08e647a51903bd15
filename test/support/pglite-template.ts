// A migrated PGlite data directory that every test file starts from, so no file pays for initdb and the
// migrations (≈ 3 s of a cold PGlite start, far more on a busy machine). The first file to need it
// builds it and leaves it in the temp dir under a name keyed by the migrations and the PGlite version;
// later files — and later runs — load it with `loadDataDir`. Each file still gets its own in-memory
// database: the dump is copied in, never shared.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { Kysely } from 'kysely'
import { migrateToLatest, type Database } from '../../server/store/database.js'
import { PGliteDialect } from '../../server/store/pglite-dialect.js'

const MIGRATIONS_DIR = new URL('../../migrations/', import.meta.url)

/** The cache file's name: changes whenever a migration or the PGlite build changes. */
function templatePath (): string {
  const hash = createHash('sha256')
  // The PGlite build, by its wasm's bytes (~20 ms to hash). Not by mtime: every `npm ci` writes the file
  // anew, so a fresh clone would build (and leave in the temp dir) a template of its own.
  hash.update('pglite ').update(readFileSync(fileURLToPath(import.meta.resolve('@electric-sql/pglite').replace(/index\.js$/, 'pglite.wasm')))).update('\n')
  for (const name of readdirSync(MIGRATIONS_DIR).sort()) {
    hash.update(`${name}\n`).update(readFileSync(new URL(name, MIGRATIONS_DIR)))
  }
  return join(tmpdir(), `tally-test-pglite-${hash.digest('hex').slice(0, 16)}.tar`)
}

async function buildTemplate (path: string): Promise<Buffer> {
  const pglite = await PGlite.create('memory://')
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) })
  try {
    await migrateToLatest(db)
    // Uncompressed: loading skips a gunzip of ~40 MB in every file.
    const dump = Buffer.from(await (await pglite.dumpDataDir('none')).arrayBuffer())
    // Two files building at once each write their own temp file; the rename makes either one win whole.
    const partial = `${path}.${process.pid}.partial`
    writeFileSync(partial, dump)
    renameSync(partial, path)
    return dump
  } finally {
    await db.destroy()
    await pglite.close()
  }
}

let template: Promise<Blob> | undefined

/** The migrated data directory, as a Blob for PGlite's `loadDataDir`; built at most once per process. */
export async function migratedPGliteDump (): Promise<Blob> {
  template ??= (async () => {
    const path = templatePath()
    let bytes: Buffer
    try { bytes = await readFile(path) } catch { bytes = await buildTemplate(path) }
    return new Blob([new Uint8Array(bytes)])
  })()
  return await template
}
