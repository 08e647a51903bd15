// The admin API's JSON shapes (docs/reference/admin-api.md): timestamps as RFC 3339 strings, resources by identifier,
// never a secret or a private key.
import type { CredentialRow } from '../../store/credentials.js'
import type { IdentityRow, ResourceRow } from '../../store/database.js'
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

export function credentialView (row: CredentialRow): Record<string, unknown> {
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
