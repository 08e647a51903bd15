// docs/reference/concepts.md: on the FIRST start of a database, create identity `admin` entitled to the three admin scopes.
// Its secret comes from TALLY_BOOTSTRAP_ADMIN_SECRET, or is generated and written once to
// <DATA_DIR>/bootstrap-admin.json (mode 0600). The path is logged, never the secret.
// "First" is a durable marker written in the same transaction as the admin (store/bootstrap-state.ts),
// not "no active admin now": after the operator deletes or disables `admin`, a restart must not revive
// it with the bootstrap secret, which may have been seen by whoever set up the deployment.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from './config.js'
import { generateSecret, hashSecret } from './keys/crypto.js'
import type { Db } from './store/database.js'
import { recordAudit } from './store/audit.js'
import { anyIdentityExists, insertBootstrapAdmin, lockBootstrap, markBootstrapped, wasBootstrapped } from './store/bootstrap-state.js'

export const ADMIN_SCOPES = ['admin:read', 'admin:write', 'admin:revoke']

export async function bootstrapAdmin ({ db, config, secretHashKey, log }: { db: Db, config: Config, secretHashKey: Buffer, log: FastifyBaseLogger }): Promise<void> {
  const secret = config.bootstrapAdminSecret ?? generateSecret()
  const created = await db.transaction().execute(async (trx) => {
    await lockBootstrap(trx)
    if (await wasBootstrapped(trx)) return false
    // Identities without a marker: set up by other means; bootstrapped all the same, never a second admin.
    if (await anyIdentityExists(trx)) {
      await markBootstrapped(trx, null)
      log.info('database already holds identities: marked as bootstrapped, no bootstrap admin created')
      return false
    }
    const clientId = 'admin'
    const identity = await insertBootstrapAdmin(trx, {
      clientId, name: 'Bootstrap admin', secretHash: hashSecret(secretHashKey, secret), secretPrefix: secret.slice(0, 8), scopes: ADMIN_SCOPES, reason: 'bootstrap admin'
    })
    await recordAudit(trx, { actor: null, action: 'bootstrap.admin', identityId: identity.id, after: { client_id: identity.client_id } })
    await markBootstrapped(trx, identity.id)
    return identity.client_id
  })
  if (created === false) return
  if (config.bootstrapAdminSecret !== undefined) {
    log.info({ client_id: created }, 'bootstrap admin created with TALLY_BOOTSTRAP_ADMIN_SECRET')
    return
  }
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
  const path = join(config.dataDir, 'bootstrap-admin.json')
  writeFileSync(path, JSON.stringify({ client_id: created, client_secret: secret }, null, 2) + '\n', { mode: 0o600 })
  log.info({ client_id: created, path }, 'bootstrap admin created; its secret is in this file')
}
