// The files of test/ (its own files, not its folders') in one process (support/group.ts).
import { runGroup } from '../support/group.js'

await runGroup('top')
