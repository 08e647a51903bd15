// The files of test/entitlements/, test/oauth/ and test/store/ in one process (support/group.ts).
import { runGroup } from '../support/group.js'

await runGroup('entitlements-oauth-store')
