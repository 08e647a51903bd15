// `npm test` runs every test file exactly once: tap runs the groups (package.json's tap.include), and
// each test file is in exactly one group (support/group.ts). Without this check a new folder left out of
// every group would go unrun, and a file on tap's root `t` would keep its databases open until its group ends.
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from '../support/tap.js'
import { GROUPS, TEST_ROOT, testFilesIn } from '../support/group.js'

const tapConfig = JSON.parse(readFileSync(join(TEST_ROOT, '../package.json'), 'utf8')).tap as { include: string[], exclude?: string[] }

t.test('tap runs the groups and nothing else', async (t) => {
  t.strictSame([tapConfig.include, tapConfig.exclude], [['test/groups/*.test.ts'], undefined])
})

t.test('each group has its file in test/groups/, and each file there is a group or this check', async (t) => {
  const files = readdirSync(join(TEST_ROOT, 'groups')).filter((name) => name.endsWith('.test.ts')).sort()
  t.strictSame(files, [...Object.keys(GROUPS).map((name) => `${name}.test.ts`), 'layout.test.ts'].sort())
})

const all = readdirSync(TEST_ROOT, { recursive: true, encoding: 'utf8' })
  .filter((name) => name.endsWith('.test.ts') && !name.startsWith('groups/'))
  .map((name) => `test/${name}`)
  .sort()

t.test('every test file is in exactly one group', async (t) => {
  const grouped = Object.values(GROUPS).flat().flatMap(testFilesIn).map((file) => `test/${relative(TEST_ROOT, file)}`).sort()
  t.strictSame(grouped, all)
})

t.test('every test file takes its `t` from support/tap.js, not tap\'s root', async (t) => {
  // With tap's root, a file in a group would run its teardowns only when the whole group ends.
  const rootImports = all.filter((file) => /^import t(,| from) .*'tap'/m.test(readFileSync(join(TEST_ROOT, '..', file), 'utf8')))
  t.strictSame(rootImports, [])
})
