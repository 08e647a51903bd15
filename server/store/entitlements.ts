// Entitlements (docs/reference/concepts.md, admin-api.md): identity × resource × scopes, conditions, expiry. Contracts as in identities.ts.
// Writers follow commitChange's lock order: the resource (share or update), then the identity, then these rows.
import { sql } from './kysely.js'
import type { Holding } from '../entitlements/narrowing.js'
import type { Db } from './database.js'

/** An entitlement with its resource's identifier, as the admin API shows it. */
export interface EntitlementWithResource {
  id: string
  resource_id: string
  identifier: string
  scopes: string[]
  conditions: unknown
  expires_at: Date | null
  reason: string | null
  granted_by: string | null
  created_at: Date
}

/** The identity's entitlements in creation order. Reads, locks nothing (in a change: under the identity lock). */
export async function entitlementsOf (db: Db, identityId: string): Promise<EntitlementWithResource[]> {
  return await db.selectFrom('entitlements as e').innerJoin('resources as r', 'r.id', 'e.resource_id')
    .select(['e.id', 'e.resource_id', 'r.identifier', 'e.scopes', 'e.conditions', 'e.expires_at', 'e.reason', 'e.granted_by', 'e.created_at'])
    .where('e.identity_id', '=', identityId).orderBy('e.created_at').orderBy('e.id').execute()
}

/** The identity's entitlements as narrowing sees them. Reads, locks nothing. */
export async function holdingsOf (db: Db, identityId: string): Promise<Holding[]> {
  const rows = await db.selectFrom('entitlements').select(['resource_id', 'scopes', 'conditions', 'expires_at'])
    .where('identity_id', '=', identityId).execute()
  return rows.map((r) => ({
    resourceId: r.resource_id, scopes: r.scopes, conditions: r.conditions as Record<string, unknown> | null, expiresAtMs: r.expires_at?.getTime() ?? null
  }))
}

export interface NewEntitlement { resourceId: string, scopes: string[], conditions: Record<string, unknown> | null, expiresAt: Date | null, reason: string | null, grantedBy: string }

/** Inserts one entitlement (the caller holds the resource FOR SHARE and the identity). Returns its id. */
export async function insertEntitlement (trx: Db, identityId: string, e: NewEntitlement): Promise<string> {
  const { id } = await trx.insertInto('entitlements').values({
    identity_id: identityId,
    resource_id: e.resourceId,
    scopes: e.scopes,
    conditions: e.conditions === null ? null : JSON.stringify(e.conditions),
    expires_at: e.expiresAt,
    reason: e.reason,
    granted_by: e.grantedBy
  }).returning('id').executeTakeFirstOrThrow()
  return id
}

/** Deletes every entitlement of the identity (the caller holds the identity). */
export async function deleteEntitlementsOf (trx: Db, identityId: string): Promise<void> {
  await trx.deleteFrom('entitlements').where('identity_id', '=', identityId).execute()
}

/** One entitlement's resource id, if it belongs to the identity. Reads, locks nothing. */
export async function entitlementResourceId (db: Db, identityId: string, entitlementId: string): Promise<string | undefined> {
  const row = await db.selectFrom('entitlements').select('resource_id').where('id', '=', entitlementId).where('identity_id', '=', identityId).executeTakeFirst()
  return row?.resource_id
}

/** Deletes one entitlement of the identity; false when it is not there (any more). */
export async function deleteEntitlement (trx: Db, identityId: string, entitlementId: string): Promise<boolean> {
  const row = await trx.deleteFrom('entitlements').where('id', '=', entitlementId).where('identity_id', '=', identityId).returning('id').executeTakeFirst()
  return row !== undefined
}

/**
 * Identities holding any of `scopes` on the resource. Reads, locks nothing: called under the resource's
 * FOR UPDATE lock, which keeps new holders out (inserts need it FOR SHARE), so the set can only shrink.
 */
export async function holdersOfScopes (db: Db, resourceId: string, scopes: string[]): Promise<string[]> {
  const rows = await db.selectFrom('entitlements').select('identity_id').distinct()
    .where('resource_id', '=', resourceId).where(sql<boolean>`scopes && ${sql.val(scopes)}::text[]`).execute()
  return rows.map((r) => r.identity_id)
}

/**
 * Takes `scopes` out of every entitlement on the resource and deletes those left empty. Locks those
 * entitlement rows (the caller already holds the resource and their identities, in that order). Returns the
 * identities whose entitlements changed.
 */
export async function removeScopesFromEntitlements (trx: Db, resourceId: string, scopes: string[]): Promise<string[]> {
  const affected = await trx.selectFrom('entitlements').select(['id', 'identity_id', 'scopes'])
    .where('resource_id', '=', resourceId).where(sql<boolean>`scopes && ${sql.val(scopes)}::text[]`)
    .orderBy('id').forUpdate().execute()
  const identities = new Set<string>()
  for (const e of affected) {
    const left = e.scopes.filter((s) => !scopes.includes(s))
    if (left.length === 0) await trx.deleteFrom('entitlements').where('id', '=', e.id).execute()
    else await trx.updateTable('entitlements').set({ scopes: left, updated_at: sql`now()` }).where('id', '=', e.id).execute()
    identities.add(e.identity_id)
  }
  return [...identities]
}
