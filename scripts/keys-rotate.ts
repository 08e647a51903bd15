// npm run keys:rotate [-- --emergency]: rotate the signing key from the command line (docs/reference/admin-api.md semantics).
import { loadConfigOrExit } from '../server/config.js'
import { rotateSigningKey } from '../server/keys/rotation.js'
import { migrateToLatest, openStore } from '../server/store/database.js'
import { recordAudit } from '../server/store/audit.js'

const emergency = process.argv.includes('--emergency')
const config = loadConfigOrExit()
const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
try {
  await migrateToLatest(store.db)
  const result = await rotateSigningKey(store.db, config.keyEncryptionKey, {
    emergency, prePublicationS: config.keyPrePublicationS, tokenTtlMaxS: config.tokenTtlMaxS
  })
  if (result !== undefined) await recordAudit(store.db, { actor: null, action: emergency ? 'keys.rotate.emergency' : 'keys.rotate', after: result })
  process.stdout.write(JSON.stringify(result, null, 2) + '\n')
} catch (err) {
  process.stderr.write(`tally: key rotation failed: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
} finally {
  await store.close()
}
