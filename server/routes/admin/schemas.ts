// JSON Schema fragments shared by the admin routes. Fastify turns a failure into 400 invalid_request whose
// description names the field (for example "body/client_id must match pattern ...").

export const CLIENT_ID_PATTERN = '^[A-Za-z0-9._:-]{1,128}$'
export const KINDS = ['service_account', 'workload', 'agent', 'automation', 'resource_server', 'admin']

export const ttl = { type: 'integer', minimum: 1, maximum: 86_400 }
export const timestamp = { type: 'string', format: 'date-time', maxLength: 64 }
const scopeToken = { type: 'string', pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,128}$' }
export const scopeList = { type: 'array', items: scopeToken, maxItems: 100, uniqueItems: true }
export const shortText = { type: 'string', maxLength: 500 }
export const metadata = { type: 'object', maxProperties: 50 }
/** Conditions are a flat object: string, number or boolean values only. */
export const conditions = {
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

export const entitlementBody = {
  type: 'object',
  additionalProperties: false,
  required: ['resource', 'scopes'],
  properties: {
    resource: { type: 'string', minLength: 1, maxLength: 512 },
    scopes: { ...scopeList, minItems: 1 },
    conditions,
    expires_at: timestamp,
    reason: shortText
  }
}

export const pageLimit = (raw: string | undefined, fallback = 50, max = 200): number => Math.min(raw === undefined ? fallback : Number(raw), max)
