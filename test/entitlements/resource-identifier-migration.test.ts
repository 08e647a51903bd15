// The identifier_key migration on a database that already holds resources, two of them spellings of one
// identifier: it must not fail, the first keeps the key, the later one stays reachable by its exact name.
import t from '../support/tap.js'
import { sql } from '../../server/store/kysely.js'
import { migrateToLatest } from '../../server/store/database.js'
import { findResource } from '../../server/store/resources.js'
import * as migration from '../../migrations/2026_12_01_15_00_00_resource_identifier_key.js'
import { sharedStore } from '../helper.js'

t.test('existing duplicates under equivalence keep working; new ones are refused by the index', async (t) => {
  // A database of the test's own (on Postgres an empty schema, on PGlite a copy of the migrated template),
  // migrated; then back to the schema before the migration, with rows registered byte for byte.
  const { store } = await sharedStore(t)
  await migrateToLatest(store.db)
  await migration.down(store.db)
  await sql`insert into resources (identifier, scopes, created_at) values ('https://a.example', '{x}', now() - interval '1 day'), ('https://A.example:443/', '{x}', now()), ('https://b.example/mcp', '{x}', now())`.execute(store.db)
  await migration.up(store.db)
  const rows = await store.db.selectFrom('resources').select(['identifier', 'identifier_key']).where('builtin', '=', false).orderBy('created_at').orderBy('identifier').execute()
  t.strictSame(rows.map((r) => [r.identifier, r.identifier_key]).sort(), [
    ['https://A.example:443/', null],
    ['https://a.example', 'https://a.example/'],
    ['https://b.example/mcp', 'https://b.example/mcp']
  ])
  t.strictSame([
    (await findResource(store.db, 'https://A.example:443/'))?.identifier,
    (await findResource(store.db, 'https://a.example/'))?.identifier,
    (await findResource(store.db, 'HTTPS://B.example/mcp'))?.identifier,
    await findResource(store.db, 'https://b.example/MCP')
  ], ['https://A.example:443/', 'https://a.example', 'https://b.example/mcp', undefined])
  const duplicate = await sql`insert into resources (identifier, identifier_key, scopes) values ('https://B.EXAMPLE/mcp', 'https://b.example/mcp', '{x}')`.execute(store.db).then(() => 'inserted', (err: { code?: string }) => err.code)
  t.equal(duplicate, '23505', 'the unique index refuses a second spelling')
})
