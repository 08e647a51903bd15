// Workload federation (docs/reference/federation.md): trusted platform issuers, and federated credentials — a third kind of
// credential, beside secrets and keys, naming the workload (issuer + subject + context match) that may act
// as an identity. Frozen in time: this file never imports from server/.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  // A removed trust is kept (deleted_at) so that the credentials that named it keep their history;
  // its issuer may be trusted again by a new row.
  await sql`
    create table trusts (
      id uuid primary key default gen_random_uuid(),
      issuer text not null,
      jwks_uri text,
      audience text not null,
      claims jsonb not null default '{}',
      max_assertion_lifetime_s integer not null default 86400 check (max_assertion_lifetime_s > 0),
      name text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      deleted_at timestamptz
    )`.execute(db)
  await sql`create unique index trusts_live_issuer on trusts (issuer) where deleted_at is null`.execute(db)

  await sql`alter table credentials drop constraint credentials_type_check`.execute(db)
  await sql`alter table credentials add constraint credentials_type_check check (type in ('client_secret', 'jwk', 'federated'))`.execute(db)
  await sql`alter table credentials add column trust_id uuid references trusts (id)`.execute(db)
  // The trust's issuer, copied: a trust's issuer never changes, and the admin view shows it without a join.
  await sql`alter table credentials add column issuer text`.execute(db)
  await sql`alter table credentials add column subject text`.execute(db)
  await sql`alter table credentials add column match jsonb`.execute(db)
  await sql`alter table credentials add constraint credentials_federated_check
    check ((type = 'federated') = (trust_id is not null and subject is not null and issuer is not null))`.execute(db)
  // The lookup of every federated assertion: its trust and its exact sub.
  await sql`create index credentials_federated on credentials (trust_id, subject) where type = 'federated' and revoked_at is null`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`delete from credentials where type = 'federated'`.execute(db)
  await sql`drop index if exists credentials_federated`.execute(db)
  await sql`alter table credentials drop constraint if exists credentials_federated_check`.execute(db)
  for (const column of ['match', 'subject', 'issuer', 'trust_id']) {
    await sql`alter table credentials drop column if exists ${sql.ref(column)}`.execute(db)
  }
  await sql`alter table credentials drop constraint credentials_type_check`.execute(db)
  await sql`alter table credentials add constraint credentials_type_check check (type in ('client_secret', 'jwk'))`.execute(db)
  await sql`drop table if exists trusts`.execute(db)
}
