// The files of test/keys/ in one process (support/group.ts).
import { runGroup } from '../support/group.js'

await runGroup('keys')
