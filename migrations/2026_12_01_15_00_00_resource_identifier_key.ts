// Resource identifiers matched by RFC 3986 §6.2.2–6.2.3 equivalence (docs/reference/endpoints.md): each resource stores the
// comparison key of its identifier, unique, so a second spelling of one identifier is refused at
// registration and a lookup by any spelling is one indexed read.
// Unlike the initial schema, this migration imports from server/: the key must be exactly what the server
// computes. Should resourceKey ever change, a later migration recomputes the keys.
// Rows registered before this migration whose keys collide (say `https://a.example` and
// `https://a.example/`) keep a null key after the first, in creation order: they stay reachable by their
// exact identifier, and nothing already registered stops working.
import { sql, type Kysely } from 'kysely'
import { resourceKey } from '../server/entitlements/resource-identifier.js'

export async function up (db: Kysely<any>): Promise<void> {
  await sql`alter table resources add column identifier_key text`.execute(db)
  const rows = await db.selectFrom('resources').select(['id', 'identifier']).orderBy('created_at').orderBy('id').execute() as Array<{ id: string, identifier: string }>
  const taken = new Set<string>()
  for (const row of rows) {
    const key = resourceKey(row.identifier)
    if (taken.has(key)) continue
    taken.add(key)
    await db.updateTable('resources').set({ identifier_key: key }).where('id', '=', row.id).execute()
  }
  await sql`create unique index resources_by_identifier_key on resources (identifier_key)`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`alter table resources drop column identifier_key`.execute(db)
}
