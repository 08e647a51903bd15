// Key events in the epoch feed (docs/reference/epoch-feed.md): `{"type": "key", "kid", "state": "removed", "at"}` when a
// signing key is removed in an emergency. They are rows of epoch_events like the others, so they take
// the same feed-order lock and arrive in commit order with the epoch and revocation events.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await sql`alter table epoch_events drop constraint epoch_events_type_check`.execute(db)
  await sql`alter table epoch_events add constraint epoch_events_type_check check (type in ('epoch', 'revoked', 'key'))`.execute(db)
  // A key event concerns no identity.
  await sql`alter table epoch_events alter column identity_id drop not null`.execute(db)
  await sql`alter table epoch_events add column kid text`.execute(db)
  await sql`alter table epoch_events add constraint epoch_events_shape check (
    (type = 'key') = (identity_id is null) and (type = 'key') = (kid is not null))`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`delete from epoch_events where type = 'key'`.execute(db)
  await sql`alter table epoch_events drop constraint epoch_events_shape`.execute(db)
  await sql`alter table epoch_events drop column kid`.execute(db)
  await sql`alter table epoch_events alter column identity_id set not null`.execute(db)
  await sql`alter table epoch_events drop constraint epoch_events_type_check`.execute(db)
  await sql`alter table epoch_events add constraint epoch_events_type_check check (type in ('epoch', 'revoked'))`.execute(db)
}
