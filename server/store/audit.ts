// The append-only audit log (docs/reference/admin-api.md). Written in the same transaction as the change it records
// (commitChange's `change.audit`). Contracts as in identities.ts.
import type { Db } from './database.js'

export interface AuditEntry {
  actor: string | null
  action: string
  identityId?: string | null
  before?: unknown
  after?: unknown
}

/** Appends one row. Writes audit_events only; takes no lock others wait on. */
export async function recordAudit (trx: Db, entry: AuditEntry): Promise<void> {
  await trx.insertInto('audit_events').values({
    actor: entry.actor,
    action: entry.action,
    identity_id: entry.identityId ?? null,
    before: entry.before === undefined ? null : JSON.stringify(entry.before),
    after: entry.after === undefined ? null : JSON.stringify(entry.after)
  }).execute()
}

/** One page in id order after `afterId` (limit + 1 rows), optionally of one identity. Reads, locks nothing. */
export async function readAuditPage (db: Db, q: { identityId?: string, afterId?: string, limit: number }): Promise<Array<{ id: string, at: Date, actor: string | null, action: string, identity_id: string | null, before: unknown, after: unknown }>> {
  let query = db.selectFrom('audit_events').selectAll().orderBy('id').limit(q.limit + 1)
  if (q.identityId !== undefined) query = query.where('identity_id', '=', q.identityId)
  if (q.afterId !== undefined) query = query.where('id', '>', q.afterId)
  return await query.execute()
}
