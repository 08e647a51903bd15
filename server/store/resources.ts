// Resources (docs/reference/concepts.md, admin-api.md): named by UUID or by identifier; their introspectors. Contracts as in identities.ts.
import { sql } from './kysely.js'
import type { Db, ResourceRow } from './database.js'
import { isUuid } from './identities.js'
import { resourceKey } from '../entitlements/resource-identifier.js'

/** By UUID or identifier. Reads one row, locks nothing. */
export async function findResource (db: Db, idOrIdentifier: string): Promise<ResourceRow | undefined> {
  let query = db.selectFrom('resources').selectAll()
  // By identifier: the exact spelling, else any RFC 3986 §6.2 equivalent one (one indexed read either way).
  query = isUuid(idOrIdentifier)
    ? query.where('id', '=', idOrIdentifier.toLowerCase())
    : query.where((eb) => eb.or([eb('identifier', '=', idOrIdentifier), eb('identifier_key', '=', resourceKey(idOrIdentifier))]))
        .orderBy(sql`identifier = ${idOrIdentifier}`, 'desc').limit(1)
  return await query.executeTakeFirst()
}

/**
 * Locks resources in the order given (commitChange passes ascending ids), FOR SHARE to validate against
 * their scopes (a concurrent scope removal waits, and vice versa) or FOR UPDATE to change them. Returns the
 * rows as of the lock.
 */
export async function lockResourceRows (trx: Db, ids: string[], mode: 'share' | 'update'): Promise<ResourceRow[]> {
  const rows: ResourceRow[] = []
  for (const id of ids) {
    const query = trx.selectFrom('resources').selectAll().where('id', '=', id)
    const row = await (mode === 'share' ? query.forShare() : query.forUpdate()).executeTakeFirst()
    if (row !== undefined) rows.push(row)
  }
  return rows
}

export interface NewResource { identifier: string, name: string | null, scopes: string[], maxTokenTtlS: number | null }

/** Inserts a resource; undefined when one with this identifier exists (no error, no row). */
export async function insertResource (trx: Db, r: NewResource): Promise<ResourceRow | undefined> {
  // identifier_key: the RFC 3986 §6.2 form (docs/reference/endpoints.md), unique, so an equivalent spelling is a conflict too;
  // no column named, so either unique index turns a concurrent duplicate into `undefined` rather than a 5xx.
  return await trx.insertInto('resources').values({ identifier: r.identifier, identifier_key: resourceKey(r.identifier), name: r.name, scopes: r.scopes, max_token_ttl_s: r.maxTokenTtlS })
    .onConflict((oc) => oc.doNothing()).returningAll().executeTakeFirst()
}

/** One page in identifier order after `afterIdentifier` (limit + 1 rows). Reads, locks nothing. */
export async function readResourcePage (db: Db, afterIdentifier: string | undefined, limit: number): Promise<ResourceRow[]> {
  let query = db.selectFrom('resources').selectAll().orderBy('identifier').limit(limit + 1)
  if (afterIdentifier !== undefined) query = query.where('identifier', '>', afterIdentifier)
  return await query.execute()
}

export interface ResourceChanges { name?: string, scopes?: string[], maxTokenTtlS?: number | null }

/** Changes the given fields (the caller holds the row FOR UPDATE). Returns the row after the change. */
export async function updateResource (trx: Db, id: string, changes: ResourceChanges): Promise<ResourceRow> {
  return await trx.updateTable('resources').set({
    ...(changes.name !== undefined && { name: changes.name }),
    ...(changes.scopes !== undefined && { scopes: changes.scopes }),
    ...(changes.maxTokenTtlS !== undefined && { max_token_ttl_s: changes.maxTokenTtlS }),
    updated_at: sql`now()`
  }).where('id', '=', id).returningAll().executeTakeFirstOrThrow()
}

/** The client_ids allowed to introspect the resource's tokens, sorted. Reads, locks nothing. */
export async function introspectorsOf (db: Db, resourceId: string): Promise<string[]> {
  const rows = await db.selectFrom('resource_introspectors as ri').innerJoin('identities as i', 'i.id', 'ri.identity_id')
    .select('i.client_id').where('ri.resource_id', '=', resourceId).orderBy('i.client_id').execute()
  return rows.map((r) => r.client_id)
}

/** Identity ids on the resource's introspector list now (to lock them before replacing it). Reads, locks nothing. */
export async function introspectorIdsOf (db: Db, resourceId: string): Promise<string[]> {
  const rows = await db.selectFrom('resource_introspectors').select('identity_id').where('resource_id', '=', resourceId).execute()
  return rows.map((r) => r.identity_id)
}

/** Replaces the introspector list; the caller holds the resource FOR UPDATE and the listed identities. */
export async function replaceIntrospectors (trx: Db, resourceId: string, identityIds: string[]): Promise<void> {
  await trx.deleteFrom('resource_introspectors').where('resource_id', '=', resourceId).execute()
  if (identityIds.length > 0) await trx.insertInto('resource_introspectors').values(identityIds.map((id) => ({ resource_id: resourceId, identity_id: id }))).execute()
}
