// The files of test/cli/ and test/console/ in one process (support/group.ts).
import { runGroup } from '../support/group.js'

await runGroup('cli-console')
