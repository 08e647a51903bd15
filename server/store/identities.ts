// Identities (docs/reference/concepts.md, admin-api.md): an identity is named by its UUID or by its client_id. Contracts in the style of
// fosite's storage interfaces: what each function reads, what it locks, what consistency it gives. All take
// `db` first so a transaction can be passed in; "locks" means row locks held until that transaction ends.
import { sql } from './kysely.js'
import type { Db, IdentityRow } from './database.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const isUuid = (value: string): boolean => UUID.test(value)

/**
 * By UUID (deleted ones too: the UUID names one identity forever) or by the client_id of a live one.
 * Reads one row, locks nothing: a committed state as of this statement.
 */
export async function findIdentity (db: Db, idOrClientId: string): Promise<IdentityRow | undefined> {
  let query = db.selectFrom('identities').selectAll()
  query = isUuid(idOrClientId)
    ? query.where('id', '=', idOrClientId.toLowerCase())
    : query.where('client_id', '=', idOrClientId).where('status', '<>', 'deleted')
  return await query.executeTakeFirst()
}

/**
 * Locks identities FOR UPDATE in the order given (commitChange passes ascending ids: the lock order) and
 * returns their rows as of the lock, so a change decides on state no one else can change until it commits.
 */
export async function lockIdentityRows (trx: Db, ids: string[]): Promise<IdentityRow[]> {
  const rows: IdentityRow[] = []
  // One statement per row: a single `where id in (…) for update` locks in scan order, not in ours.
  for (const id of ids) {
    const row = await trx.selectFrom('identities').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
    if (row !== undefined) rows.push(row)
  }
  return rows
}

/** Ids of the live identities with these client_ids (introspector lists). Reads, locks nothing. */
export async function liveIdentityIds (db: Db, clientIds: string[]): Promise<Array<{ id: string, client_id: string }>> {
  if (clientIds.length === 0) return []
  return await db.selectFrom('identities').select(['id', 'client_id'])
    .where('client_id', 'in', clientIds).where('status', '<>', 'deleted').execute()
}

export interface NewIdentity { clientId: string, kind: string, name: string | null, tokenTtlS: number | null, metadata: Record<string, unknown> }

/** Inserts an identity. Throws a unique violation (23505) when a live identity holds the client_id. */
export async function insertIdentity (trx: Db, identity: NewIdentity): Promise<IdentityRow> {
  return await trx.insertInto('identities').values({
    client_id: identity.clientId,
    kind: identity.kind,
    name: identity.name,
    token_ttl_s: identity.tokenTtlS,
    metadata: JSON.stringify(identity.metadata)
  }).returningAll().executeTakeFirstOrThrow()
}

export interface IdentityPageQuery { kind?: string, status?: IdentityRow['status'], afterId?: string, limit: number }

/** One page in id order (limit + 1 rows, so the caller can tell whether more follow). Reads, locks nothing. */
export async function readIdentityPage (db: Db, q: IdentityPageQuery): Promise<IdentityRow[]> {
  let query = db.selectFrom('identities').selectAll().orderBy('id').limit(q.limit + 1)
  if (q.kind !== undefined) query = query.where('kind', '=', q.kind)
  if (q.status !== undefined) query = query.where('status', '=', q.status)
  if (q.afterId !== undefined) query = query.where('id', '>', q.afterId)
  return await query.execute()
}

export interface IdentityChanges { status?: 'active' | 'disabled', name?: string | null, tokenTtlS?: number | null, metadata?: Record<string, unknown> }

/** Changes the given fields (the caller holds the row lock). Returns the row after the change. */
export async function updateIdentity (trx: Db, id: string, changes: IdentityChanges): Promise<IdentityRow> {
  return await trx.updateTable('identities').set({
    ...(changes.status !== undefined && { status: changes.status }),
    ...(changes.name !== undefined && { name: changes.name }),
    ...(changes.tokenTtlS !== undefined && { token_ttl_s: changes.tokenTtlS }),
    ...(changes.metadata !== undefined && { metadata: JSON.stringify(changes.metadata) }),
    updated_at: sql`now()`
  }).where('id', '=', id).returningAll().executeTakeFirstOrThrow()
}

/**
 * Marks an identity deleted, revokes its credentials and removes it from introspector lists. Writes those
 * three tables; the caller holds the identity's row lock (resource changes lock introspector identities
 * before touching their rows, so this cannot deadlock with them).
 */
export async function markIdentityDeleted (trx: Db, id: string): Promise<void> {
  await trx.updateTable('identities').set({ status: 'deleted', updated_at: sql`now()` }).where('id', '=', id).execute()
  await trx.updateTable('credentials').set({ revoked_at: sql`now()` }).where('identity_id', '=', id).where('revoked_at', 'is', null).execute()
  await trx.deleteFrom('resource_introspectors').where('identity_id', '=', id).execute()
}
