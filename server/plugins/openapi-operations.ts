// Summaries, descriptions and tags of the admin API's operations in /openapi.json, kept in one table so
// that route files stay about HTTP behaviour and generated clients and docs still read well.
// Keyed by method and path with every parameter written `:` (so `/identities/:id` and `/identities/:identityId`
// are one key). The reference behind each line is docs/reference/admin-api.md.

export interface OperationText {
  summary: string
  description: string
  tags: string[]
}

const entries: Array<[string, string, OperationText]> = [
  ['POST', '/admin/resources', {
    tags: ['resources'],
    summary: 'Register a resource',
    description: 'Registers an API that accepts Tally tokens. Its `identifier` becomes the `aud` of the tokens minted for it; `introspectors` names the identities that may introspect those tokens and read the epoch feed. Needs `admin:write`; 201 with the resource, 409 if the identifier exists.'
  }],
  ['GET', '/admin/resources', {
    tags: ['resources'],
    summary: 'List resources',
    description: 'Every resource, ordered by identifier, built-in `urn:tally:admin` included, as `{items, next_cursor}`; pass `next_cursor` back as `cursor` for the next page. Needs `admin:read`.'
  }],
  ['GET', '/admin/resources/:', {
    tags: ['resources'],
    summary: 'Read a resource',
    description: 'One resource, named by its id or its identifier (URL-encoded). Needs `admin:read`; 404 if unknown.'
  }],
  ['PATCH', '/admin/resources/:', {
    tags: ['resources'],
    summary: 'Change a resource',
    description: 'Changes the name, scopes, `max_token_ttl_s` or introspectors. Removing a scope narrows every identity entitled to it: the scope leaves their entitlements (an entitlement left empty is deleted) and their epoch is bumped in the same transaction. The built-in admin resource cannot be changed. Needs `admin:write`.'
  }],
  ['POST', '/admin/identities', {
    tags: ['identities'],
    summary: 'Create an identity',
    description: 'Creates an OAuth client (`client_id`, `kind`, optional `name`, `token_ttl_s`, `metadata`) with epoch 1 and no credential yet. Its `id` (a UUID, never reused) is the `sub` of its tokens. Needs `admin:write`; 201, or 409 if the `client_id` is taken.'
  }],
  ['GET', '/admin/identities', {
    tags: ['identities'],
    summary: 'List identities',
    description: 'Identities ordered by id, optionally filtered by `kind` and `status`, as `{items, next_cursor}` (`limit` up to 200, default 50). Needs `admin:read`.'
  }],
  ['GET', '/admin/identities/:', {
    tags: ['identities'],
    summary: 'Read an identity',
    description: 'One identity, named by UUID or `client_id`, with its entitlements and credentials (never a secret). Needs `admin:read`; 404 if unknown.'
  }],
  ['PATCH', '/admin/identities/:', {
    tags: ['identities'],
    summary: 'Change an identity',
    description: 'Changes `status` (`active` or `disabled`), `name`, `token_ttl_s` or `metadata`. Disabling bumps the epoch, so its tokens stop being active at once. Needs `admin:write`; 200 with the identity.'
  }],
  ['DELETE', '/admin/identities/:', {
    tags: ['identities'],
    summary: 'Delete an identity',
    description: 'Marks the identity deleted, revokes its credentials and bumps its epoch. The UUID is never reused; the `client_id` may be given to a new identity. Needs `admin:write`; 204.'
  }],
  ['POST', '/admin/identities/:/secrets', {
    tags: ['credentials'],
    summary: 'Issue a client secret',
    description: 'Generates a `tly_` client secret, optionally expiring at `expires_at`. The answer is the only time the secret is shown; Tally keeps a keyed hash. Several secrets may be active at once for rotation. Needs `admin:write`; 201.'
  }],
  ['POST', '/admin/identities/:/keys', {
    tags: ['credentials'],
    summary: 'Register a public key',
    description: 'Registers a public JWK (EC, OKP, or RSA of 2048 bits or more) for `private_key_jwt` client authentication (RFC 7523). A private key is refused. Needs `admin:write`; 201.'
  }],
  ['DELETE', '/admin/identities/:/credentials/:', {
    tags: ['credentials'],
    summary: 'Revoke a credential',
    description: 'Revokes one secret, key or federated credential and bumps the identity epoch, so tokens minted before stop being active. Needs `admin:write`; 204.'
  }],
  ['POST', '/admin/identities/:/entitlements', {
    tags: ['entitlements'],
    summary: 'Grant an entitlement',
    description: 'Grants scopes of a resource, with optional `conditions`, `expires_at` and `reason`. An addition: the epoch is not bumped, and the next token carries the new rights. Needs `admin:write`; 201.'
  }],
  ['PUT', '/admin/identities/:/entitlements', {
    tags: ['entitlements'],
    summary: 'Replace all entitlements',
    description: 'Replaces the identity\'s whole set of entitlements with the JSON array in the body, atomically; the epoch is bumped once if anything was narrowed. Needs `admin:write`; 200 with `{items, epoch}`.'
  }],
  ['DELETE', '/admin/identities/:/entitlements/:', {
    tags: ['entitlements'],
    summary: 'Remove an entitlement',
    description: 'Removes one entitlement and bumps the identity epoch in the same transaction. Needs `admin:write`; 204.'
  }],
  ['POST', '/admin/identities/:/revoke-sessions', {
    tags: ['sessions'],
    summary: 'Revoke every session',
    description: 'Bumps the identity epoch, so every token it holds stops being active, everywhere, at once; its next token carries the new epoch. Needs `admin:revoke`; 200 with `{epoch}`.'
  }],
  ['GET', '/admin/identities/:/sessions', {
    tags: ['sessions'],
    summary: 'List unexpired sessions',
    description: 'The identity\'s unexpired tokens (`jti`, `epoch`, `resource`, `scope`, `iat`, `exp`, `credential_id`), each marked `revoked` and `stale`, as `{items, next_cursor}`. Needs `admin:read`.'
  }],
  ['GET', '/admin/audit', {
    tags: ['audit'],
    summary: 'Read the audit log',
    description: 'The append-only log of admin changes and revocations, oldest first (`{id, at, actor, action, identity, before, after}`), optionally for one `identity`; page with `after` = the last `id` seen. Needs `admin:read`.'
  }],
  ['POST', '/admin/keys/rotate', {
    tags: ['keys'],
    summary: 'Rotate the signing key',
    description: 'Publishes a new signing key now; it signs after the pre-publication delay. With `{"emergency": true}` it signs at once and the old keys are removed, so every token they signed stops being active. Needs `admin:write`.'
  }],
  ['POST', '/admin/trusts', {
    tags: ['federation'],
    summary: 'Trust a platform issuer',
    description: 'Registers an issuer (Kubernetes, a CI provider, SPIFFE, another OAuth server) whose JWTs may stand in for a client secret, with its `jwks_uri` (else discovered), the `audience` assertions must carry, the `claims` mapping into context and the longest assertion lifetime. Needs `admin:write`; 201.'
  }],
  ['GET', '/admin/trusts', {
    tags: ['federation'],
    summary: 'List trusts',
    description: 'Every trusted platform issuer, as `{items, next_cursor}`. Needs `admin:read`.'
  }],
  ['GET', '/admin/trusts/:', {
    tags: ['federation'],
    summary: 'Read a trust',
    description: 'One trusted platform issuer. Needs `admin:read`; 404 if unknown.'
  }],
  ['PATCH', '/admin/trusts/:', {
    tags: ['federation'],
    summary: 'Change a trust',
    description: 'Changes a trust. A change that could withhold access (JWKS, audience, claims mapping, lifetime) bumps every identity with a federated credential on it. Needs `admin:write`; 200.'
  }],
  ['DELETE', '/admin/trusts/:', {
    tags: ['federation'],
    summary: 'Remove a trust',
    description: 'Removes a trust and bumps every identity with a federated credential on it, so their federated tokens stop being active. Needs `admin:write`; 204.'
  }],
  ['POST', '/admin/identities/:/federated', {
    tags: ['federation'],
    summary: 'Add a federated credential',
    description: 'Lets a workload of a trusted issuer act as this identity: the assertion\'s `sub` must equal `subject`, and its context must hold every `match` value. An addition (no bump); revoke it like any credential. Needs `admin:write`; 201.'
  }],
  ['GET', '/admin/review', {
    tags: ['review'],
    summary: 'Access review findings',
    description: 'Rights that went unused over the last `days` (1–400, default 30): `unused_scope`, `unused_entitlement`, `unused_credential` and `idle_identity` findings, each with `last_used_at` and `since`. Needs `admin:read`.'
  }],
  ['POST', '/admin/identities/:/delegations', {
    tags: ['delegation'],
    summary: 'Delegate to an actor',
    description: 'Lets `actor` act for this identity (the subject) on `resource` with at most `scopes`, until `expires_at` if given, through RFC 8693 token exchange. An addition (no bump). Needs `admin:write`; 201 with the delegation.'
  }],
  ['GET', '/admin/identities/:/delegations', {
    tags: ['delegation'],
    summary: 'List delegations',
    description: 'The delegations this identity has given, or with `as=actor` those it has received, as `{items, next_cursor}`. Needs `admin:read`.'
  }],
  ['GET', '/admin/identities/:/delegations/:', {
    tags: ['delegation'],
    summary: 'Read a delegation',
    description: 'One delegation given by this identity. Needs `admin:read`; 404 if unknown.'
  }],
  ['PATCH', '/admin/identities/:/delegations/:', {
    tags: ['delegation'],
    summary: 'Change a delegation',
    description: 'Changes `scopes`, `expires_at` or `reason`. Dropping a scope or bringing the expiry forward narrows the actor: its epoch is bumped, so every token exchanged under the delegation stops being active. Needs `admin:write`; 200 with the delegation.'
  }],
  ['DELETE', '/admin/identities/:/delegations/:', {
    tags: ['delegation'],
    summary: 'Remove a delegation',
    description: 'Removes the delegation and bumps the actor\'s epoch, so every token exchanged under it stops being active. Needs `admin:write`; 204.'
  }]
]

/** `/admin/identities/:id/credentials/:cid` → `/admin/identities/:/credentials/:`. */
export function operationKey (method: string, url: string): string {
  return `${method.toUpperCase()} ${url.replace(/:[^/]+/g, ':').replace(/\{[^/}]+\}/g, ':')}`
}

export const OPERATIONS: ReadonlyMap<string, OperationText> = new Map(entries.map(([method, url, text]) => [operationKey(method, url), text]))
