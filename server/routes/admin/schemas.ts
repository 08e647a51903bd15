// JSON Schema fragments shared by the admin routes. Fastify turns a failure into 400 invalid_request whose
// description names the field (for example "body/client_id must match pattern ..."). A body's fields are
// written once here and reused by its POST and its PATCH, where a clearable one becomes `nullable`.
import { InvalidRequest } from '../../errors.js'
import { isUuid } from '../../store/identities.js'

const CLIENT_ID_PATTERN = '^[A-Za-z0-9._:-]{1,128}$'
export const KINDS = ['service_account', 'workload', 'agent', 'automation', 'resource_server', 'admin']

export const ttl = { type: 'integer', minimum: 1, maximum: 86_400 }
export const timestamp = { type: 'string', format: 'date-time', maxLength: 64 }
const scopeToken = { type: 'string', pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,128}$' }
export const scopeList = { type: 'array', items: scopeToken, maxItems: 100, uniqueItems: true }
/** The scopes of a grant (an entitlement, a delegation): at least one. */
export const grantScopes = { ...scopeList, minItems: 1 }
export const shortText = { type: 'string', maxLength: 500 }
const metadata = { type: 'object', maxProperties: 50 }
// Printable text only: Postgres refuses NUL, and no control character belongs in an issuer, a claim path or a name.
const PRINTABLE = '^[^\\u0000-\\u001f\\u007f]+$'
export const printable = (maxLength: number): object => ({ type: 'string', minLength: 1, maxLength, pattern: PRINTABLE })
/** The field, or null to clear it (a PATCH). */
export const nullable = (schema: object): object => ({ anyOf: [schema, { type: 'null' }] })
/** Conditions are a flat object: string, number or boolean values only. */
const conditions = {
  type: 'object',
  maxProperties: 20,
  additionalProperties: { anyOf: [{ type: 'string', maxLength: 500 }, { type: 'number' }, { type: 'boolean' }] }
}

export const idParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 512 } },
  required: ['id']
}

/** Params of a route under an identity, e.g. /identities/:id/credentials/:cid. */
export const idAndChildParams = (child: string): object => ({
  type: 'object',
  properties: { id: idParams.properties.id, [child]: { type: 'string', format: 'uuid' } },
  required: ['id', child]
})

export const listQuery = {
  type: 'object',
  properties: {
    limit: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' },
    cursor: { type: 'string', maxLength: 200 }
  }
}

/** A list cursor that is an id (a UUID), lower-cased; anything else is refused before SQL (issue 9 finding 9). */
export function uuidCursor (cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined
  if (!isUuid(cursor)) throw new InvalidRequest('cursor is malformed')
  return cursor.toLowerCase()
}

// ---- Identities (docs/reference/admin-api.md "Identities") ----------------------------------------------

const identityFields = { name: shortText, token_ttl_s: ttl, metadata }
export const identityCreateBody = {
  type: 'object',
  additionalProperties: false,
  required: ['client_id', 'kind'],
  properties: { client_id: { type: 'string', pattern: CLIENT_ID_PATTERN }, kind: { type: 'string', enum: KINDS }, ...identityFields }
}
export const identityPatchBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: ['active', 'disabled'] },
    ...identityFields,
    name: nullable(shortText),
    token_ttl_s: nullable(ttl)
  }
}

// ---- Trusts and federated credentials (docs/reference/federation.md) -------------------------------------

const uri = printable(2048)
const claimsMapping = { type: 'object', maxProperties: 50, propertyNames: printable(128), additionalProperties: printable(512) }
const assertionLifetime = { type: 'integer', minimum: 1, maximum: 7 * 86_400 } // up to 7 days in seconds
const trustFields = { jwks_uri: uri, audience: uri, claims: claimsMapping, max_assertion_lifetime_s: assertionLifetime, name: shortText }
export const trustCreateBody = {
  type: 'object',
  additionalProperties: false,
  required: ['issuer'],
  properties: { issuer: uri, ...trustFields }
}
/** The issuer names the trust and never changes; jwks_uri (back to discovery) and name may be cleared. */
export const trustPatchBody = {
  type: 'object',
  additionalProperties: false,
  properties: { ...trustFields, jwks_uri: nullable(uri), name: nullable(shortText) }
}
export const federatedBody = {
  type: 'object',
  additionalProperties: false,
  required: ['issuer', 'subject'],
  properties: { issuer: uri, subject: printable(2048), match: conditions }
}

export const entitlementBody = {
  type: 'object',
  additionalProperties: false,
  required: ['resource', 'scopes'],
  properties: {
    resource: { type: 'string', minLength: 1, maxLength: 512 },
    scopes: grantScopes,
    conditions,
    expires_at: timestamp,
    reason: shortText
  }
}

export const pageLimit = (raw: string | undefined, fallback = 50, max = 200): number => Math.min(raw === undefined ? fallback : Number(raw), max)
