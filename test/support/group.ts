// Runs several test files in one process, one after another, each in a subtest named by its path: what
// `npm test` does for the folders below (test/groups/<name>.test.ts runs group <name>; package.json's
// tap.exclude keeps tap from also running those files alone; test/groups/layout.test.ts checks the two
// agree). A test process pays a fixed cost before its first assertion — tap's and tsx's module hooks,
// the server's module graph, PGlite's WebAssembly — of about 3–4 s of CPU on this project's 2-core CI
// machine; paid once per group instead of once per file, that was most of `npm test`'s time
// (docs/decisions.md §31). Each file still gets its own database and apps: support/tap.ts hands it a
// subtest of its own as `t`, whose teardowns run when the file's tests end. Files that start processes
// or a browser, or need a Postgres of their own, stay in processes of their own (test/*.test.ts,
// cli/, console/, ops/), as does a folder of one file.
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import tap from 'tap'
import { setFileTest } from './tap.js'

/** Group name → the folders of test/ whose `*.test.ts` files (not their subfolders') it runs. */
export const GROUPS: Record<string, string[]> = {
  admin: ['routes/admin'],
  delegation: ['delegation'],
  entitlements: ['entitlements'],
  federation: ['federation'],
  hardening: ['hardening'],
  interop: ['interop'],
  keys: ['keys'],
  routes: ['routes']
}

/** The bound on one file, as tap's `timeout` bounds a file run alone (package.json). */
const FILE_TIMEOUT_MS = 120_000

export const TEST_ROOT = fileURLToPath(new URL('../', import.meta.url))

/** The `*.test.ts` files directly in `test/<folder>`, sorted. */
export function testFilesIn (folder: string): string[] {
  const dir = join(TEST_ROOT, folder)
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.test.ts'))
    .map((entry) => join(dir, entry.name))
    .sort()
}

/**
 * Runs the files of group `name`, each in its own subtest. A file's subtest ends — and its teardowns run
 * — before the next file is imported, so no two files' tests interleave.
 */
export async function runGroup (name: string): Promise<void> {
  const folders = GROUPS[name]
  if (folders === undefined) throw new Error(`no test group ${name} in support/group.ts`)
  const files = folders.flatMap(testFilesIn)
  tap.setTimeout(FILE_TIMEOUT_MS * files.length)
  for (const file of files) {
    await tap.test(relative(join(TEST_ROOT, '..'), file), { timeout: FILE_TIMEOUT_MS }, async (t) => {
      setFileTest(t)
      await import(pathToFileURL(file).href)
    })
  }
  setFileTest(tap)
}
