// GET /admin/review (docs/reference/review.md): the rights nobody used within the last `days` — scopes, entitlements and
// credentials — and identities that got no token in that window. Acting on a finding is an ordinary admin
// change (DELETE an entitlement or credential, PUT a narrower set), which bumps the epoch.
import type { FastifyInstance } from 'fastify'
import { InvalidRequest } from '../../errors.js'
import { findIdentity } from '../../store/identities.js'
import { FINDING_KINDS, reviewFindings, type FindingCursor, type FindingKind, type FindingRow } from '../../store/usage.js'
import { KINDS, pageLimit } from './schemas.js'
import { iso } from './views.js'

interface ReviewQuery { days?: string, identity?: string, kind?: string, limit?: string, cursor?: string }

const DEFAULT_DAYS = 30
const MAX_DAYS = 400

function parseDays (raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_DAYS
  const days = /^[0-9]{1,4}$/.test(raw) ? Number(raw) : NaN
  if (!(days >= 1 && days <= MAX_DAYS)) throw new InvalidRequest(`days must be an integer from 1 to ${MAX_DAYS}`)
  return days
}

// The cursor is the sort key of the page's last finding, opaque to clients.
function encodeCursor (row: FindingRow): string {
  return Buffer.from(JSON.stringify([row.client_id, row.rank, row.item_id])).toString('base64url')
}

function decodeCursor (raw: string): FindingCursor {
  try {
    const [clientId, rank, itemId] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown[]
    if (typeof clientId === 'string' && !clientId.includes('\u0000') && Number.isInteger(rank) && typeof itemId === 'string' &&
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(itemId)) {
      return { clientId, rank: rank as number, itemId }
    }
  } catch {}
  throw new InvalidRequest('cursor is malformed')
}

function findingView (row: FindingRow): Record<string, unknown> {
  const common = { kind: row.kind, identity: { id: row.identity_id, client_id: row.client_id } }
  const when = { last_used_at: iso(row.last_used_at), since: iso(row.since) }
  switch (row.kind) {
    case 'unused_scope': return { ...common, entitlement_id: row.item_id, resource: row.resource, scopes: row.scopes, ...when }
    case 'unused_entitlement': return { ...common, entitlement_id: row.item_id, resource: row.resource, ...when }
    case 'unused_credential': return { ...common, credential_id: row.item_id, type: row.type, ...when }
    case 'idle_identity': return { ...common, ...when }
  }
}

export default async function reviewRoutes (app: FastifyInstance): Promise<void> {
  const { db } = app.tally
  app.get<{ Querystring: ReviewQuery }>('/review', {
    preHandler: app.requireAdmin('admin:read'),
    schema: {
      querystring: {
        type: 'object',
        properties: {
          days: { type: 'string', maxLength: 16 },
          identity: { type: 'string', minLength: 1, maxLength: 128 },
          kind: { type: 'string', maxLength: 64 },
          limit: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' },
          cursor: { type: 'string', maxLength: 1000 }
        }
      }
    }
  }, async function review (request) {
    const q = request.query
    const days = parseDays(q.days)
    const limit = pageLimit(q.limit, 100, 500)
    // `kind` filters findings by their kind, or identities by theirs: the two sets of names are disjoint.
    let kinds: FindingKind[] | undefined
    let identityKind: string | undefined
    if (q.kind !== undefined) {
      if ((FINDING_KINDS as string[]).includes(q.kind)) kinds = [q.kind as FindingKind]
      else if (KINDS.includes(q.kind)) identityKind = q.kind
      else throw new InvalidRequest(`kind must be one of ${[...FINDING_KINDS, ...KINDS].join(', ')}`)
    }
    let identityId: string | undefined
    if (q.identity !== undefined) {
      if (q.identity.includes('\u0000')) throw new InvalidRequest('identity: unknown identity')
      const identity = await findIdentity(db, q.identity)
      if (identity === undefined) throw new InvalidRequest('identity: unknown identity')
      identityId = identity.id
    }
    const after = q.cursor !== undefined ? decodeCursor(q.cursor) : undefined
    const rows = await reviewFindings(db, { days, identityId, identityKind, kinds, after, limit: limit + 1 })
    const page = rows.slice(0, limit)
    return { items: page.map(findingView), next_cursor: rows.length > limit ? encodeCursor(page[page.length - 1] as FindingRow) : null }
  })
}
