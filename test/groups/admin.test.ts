// The files of test/routes/admin/ in one process (support/group.ts).
import { runGroup } from '../support/group.js'

await runGroup('admin')
