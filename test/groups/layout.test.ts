// `npm test` runs every test file exactly once: a file is either in a group (support/group.ts), whose
// folder package.json's tap.exclude then keeps tap from running alone, or run alone by tap's include.
// Without this check a new folder left out of both, or a group left out of tap.exclude, would go unrun
// or run twice.
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from '../support/tap.js'
import { GROUPS, TEST_ROOT, testFilesIn } from '../support/group.js'

const tapConfig = JSON.parse(readFileSync(join(TEST_ROOT, '../package.json'), 'utf8')).tap as { include: string[], exclude: string[] }
const allTestFiles = readdirSync(TEST_ROOT, { recursive: true, encoding: 'utf8' })
  .filter((name) => name.endsWith('.test.ts') && !name.startsWith('groups/'))
  .map((name) => `test/${name}`)
  .sort()
const grouped = Object.values(GROUPS).flat().flatMap(testFilesIn).map((file) => `test/${relative(TEST_ROOT, file)}`).sort()

t.test('each group has its file in test/groups/', async (t) => {
  t.strictSame(Object.keys(GROUPS).filter((name) => !existsSync(join(TEST_ROOT, 'groups', `${name}.test.ts`))), [])
})

t.test('tap.exclude names exactly the grouped folders', async (t) => {
  const folders = [...new Set(Object.values(GROUPS).flat().map((folder) => folder.split('/')[0]))].sort()
  t.strictSame(tapConfig.exclude, folders.map((folder) => `test/${folder}/**`))
})

t.test('every test file is in a group or outside every grouped folder, never both', async (t) => {
  const excludedFolders = tapConfig.exclude.map((pattern) => pattern.replace(/\*\*$/, ''))
  const runAlone = allTestFiles.filter((file) => !excludedFolders.some((folder) => file.startsWith(folder)))
  t.strictSame([...runAlone, ...grouped].sort(), allTestFiles)
})
