// Delegation (docs/reference/delegation.md): durable subject × actor × resource × scopes grants, and on each session the chain
// of parties a token exchanged under them names. Frozen in time: this file never imports from server/.
import { sql, type Kysely } from 'kysely'

export async function up (db: Kysely<any>): Promise<void> {
  await sql`
    create table delegations (
      id uuid primary key default gen_random_uuid(),
      subject_id uuid not null references identities (id),
      actor_id uuid not null references identities (id),
      resource_id uuid not null references resources (id),
      scopes text[] not null check (cardinality(scopes) > 0),
      expires_at timestamptz,
      reason text,
      granted_by uuid,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check (subject_id <> actor_id)
    )`.execute(db)
  // The exchange's lookup: from the subject token's holder to the authenticated actor.
  await sql`create index delegations_subject_actor on delegations (subject_id, actor_id)`.execute(db)
  await sql`create index delegations_actor on delegations (actor_id)`.execute(db)

  // A token exchanged under delegations (RFC 8693) names every actor of its chain, outermost first, with
  // the epoch each had at minting, and the session it was exchanged from. Introspection checks them all in
  // the same statement as the session itself; revocation follows parent_jti to revoke what was derived.
  await sql`alter table sessions add column parent_jti uuid`.execute(db)
  await sql`alter table sessions add column actor_ids uuid[]`.execute(db)
  await sql`alter table sessions add column actor_epochs integer[]`.execute(db)
  await sql`alter table sessions add column delegation_ids uuid[]`.execute(db)
  await sql`create index sessions_parent on sessions (parent_jti) where parent_jti is not null`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop index if exists sessions_parent`.execute(db)
  for (const column of ['delegation_ids', 'actor_epochs', 'actor_ids', 'parent_jti']) {
    await sql`alter table sessions drop column if exists ${sql.ref(column)}`.execute(db)
  }
  await sql`drop table if exists delegations`.execute(db)
}
