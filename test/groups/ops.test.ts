// The files of test/ops/ in one process (support/group.ts).
import { runGroup } from '../support/group.js'

await runGroup('ops')
