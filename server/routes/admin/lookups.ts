// How the admin routes turn a path's :id into a row or a 404 (docs/reference/admin-api.md: "unknown id → 404").
import { NotFound } from '../../errors.js'
import type { Change } from '../../entitlements/change.js'
import type { Db, IdentityRow } from '../../store/database.js'
import { findIdentity } from '../../store/identities.js'

/** The identity named by :id (UUID or client_id), or 404; live only unless `includeDeleted`. Locks nothing. */
export async function identityOr404 (db: Db, id: string, options: { includeDeleted?: boolean } = {}): Promise<IdentityRow> {
  const row = await findIdentity(db, id)
  if (row === undefined || (row.status === 'deleted' && options.includeDeleted !== true)) throw new NotFound('identity not found')
  return row
}

/** Locks a live identity found earlier and returns its row as of the lock, or 404 if it was deleted since. */
export async function lockLiveIdentity (change: Change, identity: IdentityRow): Promise<IdentityRow> {
  const [row] = await change.lockIdentities([identity.id])
  if (row === undefined || row.status === 'deleted') throw new NotFound('identity not found')
  return row
}
