// The files of test/hardening/ in one process (support/group.ts).
import { runGroup } from '../support/group.js'

await runGroup('hardening')
