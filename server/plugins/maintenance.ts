// Periodic upkeep on every instance: purges and the signing-key schedule. Each job is idempotent and safe
// to run on several instances at once; a failure (say, the database is down) is logged and retried next tick.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { maintainSigningKeys } from '../keys/rotation.js'
import { purgeExpired } from '../maintenance/purge.js'

async function maintenancePlugin (app: FastifyInstance): Promise<void> {
  const { config, db } = app.tally
  let running = false
  async function tick (): Promise<void> {
    if (running) return
    running = true
    try {
      const rotated = await maintainSigningKeys(db, config.keyEncryptionKey, {
        prePublicationS: config.keyPrePublicationS, tokenTtlMaxS: config.tokenTtlMaxS, intervalS: config.keyRotationIntervalS
      })
      if (rotated !== undefined) app.log.info({ kid: rotated.kid, activates_at: rotated.activates_at }, 'scheduled signing key rotation')
      const purged = await purgeExpired(db, config)
      if (purged.sessions + purged.assertions + purged.events > 0) app.log.info({ purged }, 'expired rows purged')
    } catch (err) {
      app.log.warn({ err }, 'maintenance failed; will retry')
    } finally {
      running = false
    }
  }
  const timer = setInterval(() => { void tick() }, config.maintenanceIntervalS * 1000)
  timer.unref()
  app.addHook('onClose', async () => { clearInterval(timer) })
}

export default fp(maintenancePlugin, { name: 'maintenance', dependencies: ['tally'] })
