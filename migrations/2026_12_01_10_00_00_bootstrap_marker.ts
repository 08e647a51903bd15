// A durable "this database was bootstrapped" marker (docs/reference/concepts.md: the bootstrap admin is for a database that
// was never bootstrapped). Written in the same transaction as the bootstrap admin, it is what later starts
// check, so deleting or disabling every admin never makes a restart re-create `admin` with the
// bootstrap secret. A database that already holds identities was bootstrapped before this marker
// existed (the bootstrap admin is the first identity ever created): it gets the marker now.
// Frozen in time: this file never imports from server/.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await sql`
    create table bootstrap_state (
      singleton boolean primary key default true check (singleton),
      bootstrapped_at timestamptz not null default now(),
      identity_id uuid
    )`.execute(db)
  await sql`
    insert into bootstrap_state (identity_id)
    select (select id from identities order by created_at, id limit 1)
    where exists (select 1 from identities)`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop table if exists bootstrap_state`.execute(db)
}
