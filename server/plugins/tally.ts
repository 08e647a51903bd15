// Opens the store, applies migrations, loads the signing keys and bootstraps the first admin; closes
// them all on shutdown. Every route reaches them through `app.tally`.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import '../context.js'
import { bootstrapAdmin } from '../bootstrap.js'
import { deriveSecretHashKey } from '../keys/crypto.js'
import { KeyRing } from '../keys/key-ring.js'
import { ensureSigningKey } from '../keys/keystore.js'
import { migrateToLatest, openStore, type Store } from '../store/database.js'
import { SessionWriter } from '../store/session-writer.js'
import { ClientLoader } from '../store/clients.js'
import { AuthThrottle } from '../oauth/throttle.js'
import { JwksCache } from '../federation/jwks-cache.js'
import { TrustLoader } from '../store/trusts.js'

export interface TallyPluginOptions {
  config: Config
  /** A store opened by the caller (tests share one per file); it is then not closed with the app. */
  store?: Store
}

async function tallyPlugin (app: FastifyInstance, { config, store: given }: TallyPluginOptions): Promise<void> {
  const store = given ?? await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, logger: app.log })
  const { db } = store
  const applied = await migrateToLatest(db)
  if (applied.length > 0) app.log.info({ migrations: applied }, 'migrations applied')
  await ensureSigningKey(db, config.keyEncryptionKey)
  const keys = new KeyRing(db, config.keyEncryptionKey, (err) => app.log.warn({ err }, 'signing key reload failed'))
  await keys.start(store)
  const secretHashKey = deriveSecretHashKey(config.keyEncryptionKey)
  await bootstrapAdmin({ db, config, secretHashKey, log: app.log })

  const clients = new ClientLoader(db)
  const jwks = new JwksCache({ onFetchError: (issuer, err) => app.log.warn({ issuer, err: { message: (err as Error).message } }, 'trust jwks fetch failed') })
  app.decorate('tally', {
    config,
    store,
    db,
    keys,
    sessions: new SessionWriter(db, () => { keys.reload().catch((err: unknown) => app.log.warn({ err }, 'key ring reload failed')) }),
    clientAuth: {
      db, clients, secretHashKey, issuer: config.issuer, tokenEndpoint: `${config.issuer}/token`, throttle: new AuthThrottle(),
      federation: { clients, issuer: config.issuer, jwks, trusts: new TrustLoader(db) }
    }
  })
  app.addHook('onClose', async () => {
    await keys.stop()
    if (given === undefined) await store.close()
  })
}

export default fp(tallyPlugin, { name: 'tally' })
