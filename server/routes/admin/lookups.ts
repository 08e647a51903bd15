// How the admin routes turn a path's :id into a row or a 404 (docs/reference/admin-api.md: "unknown id → 404").
import { NotFound } from '../../errors.js'
import type { Change } from '../../entitlements/change.js'
import type { Db, IdentityRow, TrustRow } from '../../store/database.js'
import { findDelegation, type DelegationRow } from '../../store/delegations.js'
import { findIdentity } from '../../store/identities.js'
import { findTrust } from '../../store/trusts.js'

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

/** The trust named by :id (its UUID or issuer), or 404; `forUpdate` locks it for a change. */
export async function trustOr404 (db: Db, id: string, options: { forUpdate?: boolean } = {}): Promise<TrustRow> {
  const row = await findTrust(db, id, options)
  if (row === undefined) throw new NotFound('trust not found')
  return row
}

/** The delegation :did given by `subjectId`, or 404; `forUpdate` locks it for a change. */
export async function delegationOr404 (db: Db, subjectId: string, did: string, options: { forUpdate?: boolean } = {}): Promise<DelegationRow> {
  const row = await findDelegation(db, subjectId, did, options)
  if (row === undefined) throw new NotFound('delegation not found')
  return row
}
