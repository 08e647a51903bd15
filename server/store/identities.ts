// Identity lookups for the admin API: an identity is named by its UUID or by its client_id (SPEC §5).
import type { Db, IdentityRow } from './database.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const isUuid = (value: string): boolean => UUID.test(value)

/** By UUID (deleted ones too: the UUID names one identity forever) or by the client_id of a live one. */
export async function findIdentity (db: Db, idOrClientId: string, options: { forUpdate?: boolean } = {}): Promise<IdentityRow | undefined> {
  let query = db.selectFrom('identities').selectAll()
  query = isUuid(idOrClientId)
    ? query.where('id', '=', idOrClientId.toLowerCase())
    : query.where('client_id', '=', idOrClientId).where('status', '<>', 'deleted')
  if (options.forUpdate === true) query = query.forUpdate()
  return await query.executeTakeFirst()
}
