// The files of test/delegation/ in one process (support/group.ts).
import { runGroup } from '../support/group.js'

await runGroup('delegation')
