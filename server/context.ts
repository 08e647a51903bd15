// What every route needs from the running instance, opened once by the tally plugin and closed on shutdown.
import type { Config } from './config.js'
import type { KeyRing } from './keys/key-ring.js'
import type { ClientAuthContext } from './oauth/client-auth.js'
import type { Db, Store } from './store/database.js'
import type { SessionWriter } from './store/session-writer.js'

export interface Tally {
  config: Config
  store: Store
  db: Db
  keys: KeyRing
  sessions: SessionWriter
  clientAuth: ClientAuthContext
}

declare module 'fastify' {
  interface FastifyInstance {
    tally: Tally
  }
}
