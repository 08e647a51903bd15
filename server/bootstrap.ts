// SPEC §1: on first start, if no active identity holds admin:write, create identity `admin` entitled to
// the three admin scopes. Its secret comes from TALLY_BOOTSTRAP_ADMIN_SECRET, or is generated and written
// once to <DATA_DIR>/bootstrap-admin.json (mode 0600). The path is logged, never the secret.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'kysely'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from './config.js'
import { generateSecret, hashSecret } from './keys/crypto.js'
import type { Db } from './store/database.js'
import { recordAudit } from './store/audit.js'

const BOOTSTRAP_LOCK = 0x7a11_0004
export const ADMIN_SCOPES = ['admin:read', 'admin:write', 'admin:revoke']

export async function bootstrapAdmin ({ db, config, secretHashKey, log }: { db: Db, config: Config, secretHashKey: Buffer, log: FastifyBaseLogger }): Promise<void> {
  const secret = config.bootstrapAdminSecret ?? generateSecret()
  const created = await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK})`.execute(trx)
    const { rows } = await sql`
      select 1 from entitlements e
      join resources r on r.id = e.resource_id and r.identifier = 'urn:tally:admin'
      join identities i on i.id = e.identity_id and i.status = 'active'
      where 'admin:write' = any(e.scopes) and (e.expires_at is null or e.expires_at > now())
      limit 1`.execute(trx)
    if (rows.length > 0) return false
    // A disabled `admin` may hold the name; the new admin needs it free.
    const taken = await trx.selectFrom('identities').select('id').where('client_id', '=', 'admin').where('status', '<>', 'deleted').executeTakeFirst()
    const clientId = taken === undefined ? 'admin' : `admin-${Date.now()}`
    const identity = await trx.insertInto('identities')
      .values({ client_id: clientId, kind: 'admin', name: 'Bootstrap admin' })
      .returning(['id', 'client_id']).executeTakeFirstOrThrow()
    await trx.insertInto('credentials').values({
      identity_id: identity.id, type: 'client_secret', secret_hash: hashSecret(secretHashKey, secret), secret_prefix: secret.slice(0, 8)
    }).execute()
    const resource = await trx.selectFrom('resources').select('id').where('identifier', '=', 'urn:tally:admin').executeTakeFirstOrThrow()
    await trx.insertInto('entitlements').values({
      identity_id: identity.id, resource_id: resource.id, scopes: ADMIN_SCOPES, reason: 'bootstrap admin'
    }).execute()
    await recordAudit(trx, { actor: null, action: 'bootstrap.admin', identityId: identity.id, after: { client_id: identity.client_id } })
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
