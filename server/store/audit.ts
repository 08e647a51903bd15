// The append-only audit log (SPEC §5). Written in the same transaction as the change it records.
import type { Db } from './database.js'

export interface AuditEntry {
  actor: string | null
  action: string
  identityId?: string | null
  before?: unknown
  after?: unknown
}

export async function recordAudit (trx: Db, entry: AuditEntry): Promise<void> {
  await trx.insertInto('audit_events').values({
    actor: entry.actor,
    action: entry.action,
    identity_id: entry.identityId ?? null,
    before: entry.before === undefined ? null : JSON.stringify(entry.before),
    after: entry.after === undefined ? null : JSON.stringify(entry.after)
  }).execute()
}
