// The files of test/entitlements/ in one process (support/group.ts).
import { runGroup } from '../support/group.js'

await runGroup('entitlements')
