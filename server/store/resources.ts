// Resource lookups: a resource is named by its UUID or by its identifier (SPEC §5).
import { sql } from 'kysely'
import type { Db, ResourceRow } from './database.js'
import { isUuid } from './identities.js'
import { resourceKey } from '../entitlements/resource-identifier.js'

export async function findResource (db: Db, idOrIdentifier: string, options: { forUpdate?: boolean } = {}): Promise<ResourceRow | undefined> {
  let query = db.selectFrom('resources').selectAll()
  // By identifier: the exact spelling, else any RFC 3986 §6.2 equivalent one (one indexed read either way).
  query = isUuid(idOrIdentifier)
    ? query.where('id', '=', idOrIdentifier.toLowerCase())
    : query.where((eb) => eb.or([eb('identifier', '=', idOrIdentifier), eb('identifier_key', '=', resourceKey(idOrIdentifier))]))
        .orderBy(sql`identifier = ${idOrIdentifier}`, 'desc').limit(1)
  if (options.forUpdate === true) query = query.forUpdate()
  return await query.executeTakeFirst()
}

