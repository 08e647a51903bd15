// Usage for the access review (docs/reference/review.md). Each session remembers which entitlements its token carried;
// the maintenance rollup folds sessions (oldest first, by their time-ordered jti) into the usage tables,
// which outlive session purges for USAGE_RETENTION_DAYS. No foreign keys, like sessions: the rollup must
// never fail on a row deleted meanwhile; orphans are purged with the expired usage.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await sql`alter table sessions add column entitlement_ids uuid[]`.execute(db)
  await sql`create table usage_identities (identity_id uuid primary key, last_token_at timestamptz not null)`.execute(db)
  await sql`create table usage_credentials (credential_id uuid primary key, last_used_at timestamptz not null)`.execute(db)
  await sql`create table usage_entitlements (entitlement_id uuid primary key, last_used_at timestamptz not null)`.execute(db)
  await sql`
    create table usage_entitlement_scopes (
      entitlement_id uuid not null,
      scope text not null,
      last_used_at timestamptz not null,
      primary key (entitlement_id, scope)
    )`.execute(db)
  // One row: every session with a jti at or below the watermark has been rolled up.
  await sql`
    create table usage_rollup (
      id integer primary key check (id = 1),
      watermark uuid not null
    )`.execute(db)
  await sql`insert into usage_rollup (id, watermark) values (1, '00000000-0000-0000-0000-000000000000')`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  for (const table of ['usage_rollup', 'usage_entitlement_scopes', 'usage_entitlements', 'usage_credentials', 'usage_identities']) {
    await sql`drop table if exists ${sql.table(table)}`.execute(db)
  }
  await sql`alter table sessions drop column if exists entitlement_ids`.execute(db)
}
