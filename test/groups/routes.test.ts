// The files of test/routes/ in one process (support/group.ts).
import { runGroup } from '../support/group.js'

await runGroup('routes')
