// Runs several test files in one process, one after another, each in a subtest named by its path: this
// is how `npm test` runs every test file (package.json's tap.include is test/groups/*.test.ts, and
// test/groups/<name>.test.ts runs group <name> below; test/groups/layout.test.ts checks that each file is
// in exactly one group). A test process pays a fixed cost before its first assertion — tap's and tsx's
// module hooks, the server's module graph, PGlite's WebAssembly — of about 3–4 s of CPU on this project's
// 2-core CI machine; paid once per group instead of once per file, that was most of `npm test`'s time
// (docs/decisions.md §31). Each file still gets its own database and apps: support/tap.ts hands it a
// subtest of its own as `t`, whose teardowns run when the file's tests end. Any file still runs alone:
// `npx tap test/routes/revoke.test.ts`.
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import tap from 'tap'
import { setFileTest } from './tap.js'

/**
 * Group name → the folders of test/ whose `*.test.ts` files (not their subfolders') it runs; '' is test/
 * itself. Groups are cut so that none runs much longer than the others: `npm test` runs four at a time.
 */
export const GROUPS: Record<string, string[]> = {
  admin: ['routes/admin'],
  'cli-console': ['cli', 'console'],
  delegation: ['delegation'],
  'entitlements-oauth-store': ['entitlements', 'oauth', 'store'],
  federation: ['federation'],
  hardening: ['hardening'],
  interop: ['interop'],
  keys: ['keys'],
  ops: ['ops'],
  routes: ['routes'],
  top: ['']
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
