// The test object a test file's top-level code runs on. Test files import it in place of tap's root
// (`import t from '../support/tap.js'`) so that the same file runs two ways, unchanged:
// - alone (`npx tap test/routes/revoke.test.ts`, or `node --import=tsx …`): `t` is tap's root, as usual;
// - in a group (test/groups/, what `npm test` runs): several files share one process, one after another,
//   and `t` is the file's own subtest, so the file's teardowns (its database, its apps) run when the file
//   ends, not when the process does. support/group.ts switches it between files.
// This works because `t` below is a live binding: an importer sees the value `current` has at the time
// it reads `t`, and a group imports each file only while that file's subtest is the current one.
import tap, { type Test } from 'tap'

let current: Test = tap

export { current as default }

/** Makes `t` the top-level test object of the files imported from now on (support/group.ts only). */
export function setFileTest (t: Test): void {
  current = t
}
