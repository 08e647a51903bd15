// Tally's first schema. Frozen in time: this file never imports from server/.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await sql`
    create table identities (
      id uuid primary key default gen_random_uuid(),
      client_id text not null,
      kind text not null check (kind in ('service_account', 'workload', 'agent', 'automation', 'resource_server', 'admin')),
      name text,
      status text not null default 'active' check (status in ('active', 'disabled', 'deleted')),
      epoch integer not null default 1 check (epoch >= 1),
      token_ttl_s integer check (token_ttl_s > 0),
      metadata jsonb not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db)
  // client_id is unique among identities that are not deleted; a deleted one's client_id may be reused.
  await sql`create unique index identities_live_client_id on identities (client_id) where status <> 'deleted'`.execute(db)

  await sql`
    create table resources (
      id uuid primary key default gen_random_uuid(),
      identifier text not null unique,
      name text,
      scopes text[] not null default '{}',
      max_token_ttl_s integer check (max_token_ttl_s > 0),
      builtin boolean not null default false,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db)

  await sql`
    create table resource_introspectors (
      resource_id uuid not null references resources (id) on delete cascade,
      identity_id uuid not null references identities (id),
      primary key (resource_id, identity_id)
    )`.execute(db)
  await sql`create index resource_introspectors_identity on resource_introspectors (identity_id)`.execute(db)

  // A credential is a keyed hash of a Tally-generated secret, or a public JWK for private_key_jwt.
  await sql`
    create table credentials (
      id uuid primary key default gen_random_uuid(),
      identity_id uuid not null references identities (id),
      type text not null check (type in ('client_secret', 'jwk')),
      secret_hash bytea,
      secret_prefix text,
      jwk jsonb,
      expires_at timestamptz,
      revoked_at timestamptz,
      created_at timestamptz not null default now(),
      check ((type = 'client_secret') = (secret_hash is not null)),
      check ((type = 'jwk') = (jwk is not null))
    )`.execute(db)
  await sql`create index credentials_identity on credentials (identity_id)`.execute(db)

  await sql`
    create table entitlements (
      id uuid primary key default gen_random_uuid(),
      identity_id uuid not null references identities (id),
      resource_id uuid not null references resources (id),
      scopes text[] not null check (cardinality(scopes) > 0),
      conditions jsonb,
      expires_at timestamptz,
      reason text,
      granted_by uuid,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db)
  await sql`create index entitlements_identity on entitlements (identity_id)`.execute(db)
  await sql`create index entitlements_resource on entitlements (resource_id)`.execute(db)

  // One row per issued token, written before the token is returned. No foreign keys: the hot path inserts
  // these in batches and the referenced rows are never hard-deleted.
  await sql`
    create table sessions (
      jti uuid primary key,
      identity_id uuid not null,
      epoch integer not null,
      resource_id uuid not null,
      scope text not null,
      iat timestamptz not null,
      exp timestamptz not null,
      credential_id uuid,
      token_hash bytea not null,
      kid text not null,
      revoked_at timestamptz
    )`.execute(db)
  await sql`create index sessions_identity_exp on sessions (identity_id, exp)`.execute(db)
  await sql`create index sessions_exp on sessions (exp)`.execute(db)

  // The epoch feed. Writers take an advisory transaction lock before inserting, so seq order is commit order.
  await sql`
    create table epoch_events (
      seq bigserial primary key,
      type text not null check (type in ('epoch', 'revoked')),
      identity_id uuid not null,
      epoch integer,
      jti uuid,
      exp timestamptz,
      reason text,
      at timestamptz not null default now()
    )`.execute(db)

  await sql`
    create table audit_events (
      id bigserial primary key,
      at timestamptz not null default now(),
      actor uuid,
      action text not null,
      identity_id uuid,
      before jsonb,
      after jsonb
    )`.execute(db)
  await sql`create index audit_events_identity on audit_events (identity_id, id)`.execute(db)

  // Private parts are AES-256-GCM ciphertexts under TALLY_KEY_ENCRYPTION_KEY.
  await sql`
    create table signing_keys (
      kid text primary key,
      alg text not null,
      public_jwk jsonb not null,
      private_key bytea not null,
      state text not null check (state in ('next', 'active', 'retired', 'removed')),
      created_at timestamptz not null default now(),
      activates_at timestamptz not null default now(),
      retired_at timestamptz,
      expires_at timestamptz
    )`.execute(db)

  // RFC 7523 §3: a client assertion's jti is single-use; the primary key makes that atomic across instances.
  await sql`
    create table used_assertions (
      identity_id uuid not null,
      jti text not null,
      exp timestamptz not null,
      primary key (identity_id, jti)
    )`.execute(db)
  await sql`create index used_assertions_exp on used_assertions (exp)`.execute(db)

  // The admin API's own resource (docs/reference/concepts.md): it cannot be changed or deleted.
  await sql`
    insert into resources (identifier, name, scopes, builtin)
    values ('urn:tally:admin', 'Tally admin API', array['admin:read', 'admin:write', 'admin:revoke'], true)`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  for (const table of ['used_assertions', 'signing_keys', 'audit_events', 'epoch_events', 'sessions',
    'entitlements', 'credentials', 'resource_introspectors', 'resources', 'identities']) {
    await sql`drop table if exists ${sql.table(table)}`.execute(db)
  }
}
