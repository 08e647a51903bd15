// The admin API's JSON shapes (docs/reference/admin-api.md): timestamps as RFC 3339 strings, resources by identifier,
// never a secret or a private key.
import type { CredentialRow } from '../../store/credentials.js'
import type { IdentityRow, ResourceRow, TrustRow } from '../../store/database.js'
import type { DelegationRow } from '../../store/delegations.js'
import type { EntitlementWithResource } from '../../store/entitlements.js'

export const iso = (d: Date | null | undefined): string | null => (d == null ? null : new Date(d).toISOString())

export function identityView (row: IdentityRow): Record<string, unknown> {
  return {
    id: row.id,
    client_id: row.client_id,
    kind: row.kind,
    name: row.name,
    status: row.status,
    epoch: row.epoch,
    token_ttl_s: row.token_ttl_s,
    metadata: row.metadata,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at)
  }
}

export function resourceView (row: ResourceRow, introspectors: string[]): Record<string, unknown> {
  return {
    id: row.id,
    identifier: row.identifier,
    name: row.name,
    scopes: row.scopes,
    max_token_ttl_s: row.max_token_ttl_s,
    introspectors,
    builtin: row.builtin,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at)
  }
}

export function entitlementView (row: EntitlementWithResource): Record<string, unknown> {
  return {
    id: row.id,
    resource: row.identifier,
    scopes: row.scopes,
    conditions: row.conditions ?? null,
    expires_at: iso(row.expires_at),
    reason: row.reason,
    granted_by: row.granted_by,
    created_at: iso(row.created_at)
  }
}

/**
 * A credential's own state, as the audit log records it before and after a change. Its use is no change, so
 * `last_used_at` is not part of it.
 */
export function credentialState (row: CredentialRow): Record<string, unknown> {
  const jwk = row.jwk as { kid?: string, alg?: string, kty?: string } | null
  return {
    id: row.id,
    type: row.type,
    ...(row.type === 'client_secret' ? { prefix: row.secret_prefix } : row.type === 'federated' ? { issuer: row.issuer, subject: row.subject, match: row.match ?? null } : { kid: jwk?.kid, alg: jwk?.alg, kty: jwk?.kty }),
    expires_at: iso(row.expires_at),
    revoked_at: iso(row.revoked_at),
    created_at: iso(row.created_at)
  }
}

/**
 * A credential as every admin answer shows it, one shape in GET /admin/identities/:id and in each creation
 * answer (secrets, keys, federated): its state and `last_used_at`, its last successful authentication
 * (docs/reference/review.md#usage), null until used — so always null when just created.
 */
export function credentialView (row: CredentialRow, lastUsedAt: Date | null | undefined): Record<string, unknown> {
  return { ...credentialState(row), last_used_at: iso(lastUsedAt) }
}

export function trustView (row: TrustRow): Record<string, unknown> {
  return {
    id: row.id,
    issuer: row.issuer,
    jwks_uri: row.jwks_uri,
    audience: row.audience,
    claims: row.claims,
    max_assertion_lifetime_s: row.max_assertion_lifetime_s,
    name: row.name,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at)
  }
}

export function delegationView (row: DelegationRow): Record<string, unknown> {
  return {
    id: row.id,
    subject: row.subject_id,
    subject_client_id: row.subject_client_id,
    actor: row.actor_id,
    actor_client_id: row.actor_client_id,
    resource: row.resource,
    scopes: row.scopes,
    expires_at: iso(row.expires_at),
    reason: row.reason,
    granted_by: row.granted_by,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at)
  }
}

/**
 * A list answer (docs/reference/admin-api.md "Pagination") from the store's `limit + 1` rows: the first `limit`,
 * and the cursor of the last of them when there was one more.
 */
export function pageOf<T> (rows: T[], limit: number, cursorOf: (row: T) => string): { page: T[], nextCursor: string | null } {
  const page = rows.slice(0, limit)
  const last = page[page.length - 1]
  return { page, nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null }
}
