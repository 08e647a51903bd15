// Resource lookups: a resource is named by its UUID or by its identifier (SPEC §5).
import type { Db, ResourceRow } from './database.js'
import { isUuid } from './identities.js'

export async function findResource (db: Db, idOrIdentifier: string, options: { forUpdate?: boolean } = {}): Promise<ResourceRow | undefined> {
  let query = db.selectFrom('resources').selectAll()
  query = isUuid(idOrIdentifier) ? query.where('id', '=', idOrIdentifier.toLowerCase()) : query.where('identifier', '=', idOrIdentifier)
  if (options.forUpdate === true) query = query.forUpdate()
  return await query.executeTakeFirst()
}

