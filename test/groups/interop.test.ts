// The files of test/interop/ in one process (support/group.ts).
import { runGroup } from '../support/group.js'

await runGroup('interop')
