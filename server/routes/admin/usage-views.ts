// Usage fields on admin JSON (docs/reference/review.md): `last_used_at` on entitlements (and per scope of each, as
// `scopes_last_used_at`) and credentials, `last_token_at` on identities. One query per list, not per row.
import type { CredentialRow } from '../../store/credentials.js'
import type { Db } from '../../store/database.js'
import { credentialLastUsedAt, entitlementUsage, lastTokenAt } from '../../store/usage.js'
import { credentialView, iso } from './views.js'

type View = Record<string, unknown>

export async function withEntitlementUsage<T extends View> (db: Db, views: T[]): Promise<T[]> {
  const usage = await entitlementUsage(db, views.map((v) => v.id as string))
  return views.map((v) => {
    const u = usage.get(v.id as string)
    const scopes = Object.fromEntries((v.scopes as string[]).map((s) => [s, iso(u?.scopes[s])]))
    return { ...v, last_used_at: iso(u?.lastUsedAt), scopes_last_used_at: scopes }
  })
}

/** Credentials as credentialView shows them, each with its last use. */
export async function credentialViews (db: Db, rows: CredentialRow[]): Promise<View[]> {
  const usage = await credentialLastUsedAt(db, rows.map((r) => r.id))
  return rows.map((r) => credentialView(r, usage.get(r.id)))
}

export async function withIdentityUsage<T extends View> (db: Db, views: T[]): Promise<T[]> {
  const usage = await lastTokenAt(db, views.map((v) => v.id as string))
  return views.map((v) => ({ ...v, last_token_at: iso(usage.get(v.id as string)) }))
}
