// The files of test/federation/ in one process (support/group.ts).
import { runGroup } from '../support/group.js'

await runGroup('federation')
