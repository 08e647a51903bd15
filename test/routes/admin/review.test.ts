// The access review (docs/reference/review.md): usage recorded from the sessions /token writes anyway, kept beyond session
// purges, shown on admin JSON; GET /admin/review lists what nobody used within `days`.
import t from '../../support/tap.js'
import { sql } from '../../../server/store/kysely.js'
import { purgeExpired } from '../../../server/maintenance/purge.js'
import { rollUpUsage } from '../../../server/store/usage.js'
import { ADMIN_SECRET, adminCall, adminToken, basic, build, decodePayload, form, FORM_TYPE, requestToken, testConfig } from '../../helper.js'
import { createClient, createResource, epochOf, expectStatus } from '../../support/admin.js'
import { assertNoStore } from '../../support/oauth.js'

const app = await build(t)
const admin = await adminToken(app)
const { db } = app.tally

async function review (query: string): Promise<any> {
  return expectStatus(await adminCall(app, admin, 'GET', `/admin/review?${query}`), 200)
}

/** An identity holding [read, write] on one resource and [x] on another, with a second, unused secret. */
async function fixture (): Promise<{ client: Awaited<ReturnType<typeof createClient>>, r1: string, r2: string, e1: any, e2: any, spare: any, identity: any }> {
  const { identifier: r1 } = await createResource(app, admin, { scopes: ['read', 'write'] })
  const { identifier: r2 } = await createResource(app, admin, { scopes: ['x'] })
  const client = await createClient(app, admin, { entitlements: [{ resource: r1, scopes: ['read', 'write'] }, { resource: r2, scopes: ['x'] }] })
  const spare = expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${client.id}/secrets`, {}))
  const identity = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${client.id}`), 200)
  const [e1, e2] = identity.entitlements
  return { client, r1, r2, e1, e2, spare, identity }
}

t.test('usage: a token records its identity, credential, entitlements and scopes; findings list the rest', async (t) => {
  const f = await fixture()
  const before = await review(`identity=${f.client.id}`)
  const credentialCreated = (id: string): string => f.identity.credentials.find((c: any) => c.id === id).created_at
  const who = { id: f.client.id, client_id: f.client.clientId }
  t.strictSame(before, {
    items: [
      { kind: 'idle_identity', identity: who, last_used_at: null, since: f.identity.created_at },
      ...[f.e1, f.e2].sort((a, b) => a.id < b.id ? -1 : 1).map((e) => ({ kind: 'unused_entitlement', identity: who, entitlement_id: e.id, resource: e.resource, last_used_at: null, since: e.created_at })),
      ...[f.client.secretId, f.spare.id].sort().map((id) => ({ kind: 'unused_credential', identity: who, credential_id: id, type: 'client_secret', last_used_at: null, since: credentialCreated(id) }))
    ],
    next_cursor: null
  }, 'before any token: everything is a finding, including rights granted today')

  const res = await requestToken(app, f.client.clientId, f.client.secret, { resource: f.r1, scope: 'read' })
  t.equal(res.statusCode, 200)
  const iat = new Date(decodePayload(res.json().access_token).iat * 1000).toISOString()

  const after = await review(`identity=${f.client.clientId}`)
  t.strictSame(after, {
    items: [
      { kind: 'unused_entitlement', identity: who, entitlement_id: f.e2.id, resource: f.r2, last_used_at: null, since: f.e2.created_at },
      { kind: 'unused_scope', identity: who, entitlement_id: f.e1.id, resource: f.r1, scopes: ['write'], last_used_at: null, since: f.e1.created_at },
      { kind: 'unused_credential', identity: who, credential_id: f.spare.id, type: 'client_secret', last_used_at: null, since: credentialCreated(f.spare.id) }
    ],
    next_cursor: null
  }, 'after one token for read: write, the other entitlement and the spare secret remain')

  const shown = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${f.client.id}`), 200)
  t.strictSame({
    last_token_at: shown.last_token_at,
    entitlements: shown.entitlements.map((e: any) => [e.id, e.last_used_at, e.scopes_last_used_at]),
    credentials: shown.credentials.map((c: any) => [c.id, c.last_used_at])
  }, {
    last_token_at: iat,
    entitlements: [[f.e1.id, iat, { read: iat, write: null }], [f.e2.id, null, { x: null }]],
    credentials: [[f.client.secretId, iat], [f.spare.id, null]]
  }, 'admin JSON shows last_token_at, last_used_at per entitlement, scope and credential')
  const listed = expectStatus(await adminCall(app, admin, 'GET', '/admin/identities?kind=service_account&limit=200'), 200)
  t.equal(listed.items.find((i: any) => i.id === f.client.id).last_token_at, iat, 'the identity list shows last_token_at')
})

t.test('usage survives the session purge, and ages out of the window', async (t) => {
  const f = await fixture()
  const token = (await requestToken(app, f.client.clientId, f.client.secret, { resource: f.r1 })).json().access_token
  const iat = new Date(decodePayload(token).iat * 1000).toISOString()
  t.ok(await rollUpUsage(db, Date.now() + 120_000) >= 1, 'the rollup folds the session in')
  await sql`update sessions set exp = now() - interval '2 hours' where identity_id = ${f.client.id}`.execute(db)
  await purgeExpired(db, { sessionRetentionS: 0, feedRetentionS: 86_400, usageRetentionDays: 400 })
  const left = await db.selectFrom('sessions').select('jti').where('identity_id', '=', f.client.id).execute()
  t.strictSame(left, [], 'the session is gone')
  const shown = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${f.client.id}`), 200)
  t.strictSame([shown.last_token_at, shown.entitlements[0].scopes_last_used_at, shown.credentials[0].last_used_at], [iat, { read: iat, write: iat }, iat], 'usage stays after the purge')

  // Forty days later (moved back in the database): outside a 30-day window, inside a 60-day one.
  for (const [table, column] of [['usage_identities', 'last_token_at'], ['usage_credentials', 'last_used_at'], ['usage_entitlements', 'last_used_at'], ['usage_entitlement_scopes', 'last_used_at']]) {
    await sql`update ${sql.table(table as string)} set ${sql.ref(column as string)} = ${sql.ref(column as string)} - interval '40 days'`.execute(db)
  }
  const old = new Date(Date.parse(iat) - 40 * 86_400_000).toISOString()
  const row = (body: any): unknown[] => body.items.map((i: any) => [i.kind, i.entitlement_id ?? i.credential_id ?? i.identity.id, i.last_used_at])
  const byId = (a: unknown[], b: unknown[]): number => (a[1] as string) < (b[1] as string) ? -1 : 1
  t.strictSame(row(await review(`identity=${f.client.id}&days=30`)), [
    ['idle_identity', f.client.id, old],
    ...[['unused_entitlement', f.e1.id, old], ['unused_entitlement', f.e2.id, null]].sort(byId),
    ...[['unused_credential', f.client.secretId, old], ['unused_credential', f.spare.id, null]].sort(byId)
  ], 'days=30: the 40-day-old use is a finding, with its date')
  t.strictSame(row(await review(`identity=${f.client.id}&days=60`)), [
    ['unused_entitlement', f.e2.id, null], ['unused_credential', f.spare.id, null]
  ], 'days=60: only what was never used')
  await purgeExpired(db, { sessionRetentionS: 0, feedRetentionS: 86_400, usageRetentionDays: 30 })
  t.strictSame(row(await review(`identity=${f.client.id}&days=400`)).map((r) => (r as unknown[])[2]), [null, null, null, null, null], 'past USAGE_RETENTION_DAYS usage is forgotten')
})

t.test('acting on a finding: removing the unused scope bumps the epoch, and the finding goes', async (t) => {
  const f = await fixture()
  const token = (await requestToken(app, f.client.clientId, f.client.secret, { resource: f.r1, scope: 'read' })).json().access_token
  const unused = (await review(`identity=${f.client.id}&kind=unused_scope`)).items
  t.strictSame(unused.map((i: any) => [i.entitlement_id, i.scopes]), [[f.e1.id, ['write']]], 'kind= filters findings')
  const put = expectStatus(await adminCall(app, admin, 'PUT', `/admin/identities/${f.client.id}/entitlements`, [
    { resource: f.r1, scopes: ['read'] }, { resource: f.r2, scopes: ['x'] }
  ]), 200)
  t.equal(put.epoch, 2, 'narrowing bumps')
  t.equal(await epochOf(app, f.client.id), 2)
  const introspected = await app.inject({
    method: 'POST', url: '/introspect', headers: { authorization: basic('admin', ADMIN_SECRET), 'content-type': FORM_TYPE }, payload: form({ token })
  })
  t.strictSame([introspected.statusCode, introspected.json()], [200, { active: false }], 'the old token is stale')
  t.strictSame((await review(`identity=${f.client.id}&kind=unused_scope`)).items, [], 'no unused scope left')
  const iat = new Date(decodePayload(token).iat * 1000).toISOString()
  const kept = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${f.client.id}`), 200).entitlements
  const byResource = (rows: unknown[][]): unknown[][] => rows.sort((a, b) => (a[0] as string) < (b[0] as string) ? -1 : 1)
  t.strictSame(byResource(kept.map((e: any) => [e.resource, e.last_used_at, e.scopes_last_used_at])), byResource([[f.r1, iat, { read: iat }], [f.r2, null, { x: null }]]),
    'the replaced entitlements keep their usage (same resource and conditions)')
})

t.test('filters, pagination and validation', async (t) => {
  const f = await fixture()
  const other = await createClient(app, admin, { kind: 'agent' })
  const agents = await review('kind=agent')
  t.ok(agents.items.every((i: any) => i.identity.id !== f.client.id), 'kind=<identity kind> filters identities')
  t.ok(agents.items.some((i: any) => i.identity.id === other.id && i.kind === 'idle_identity'), 'the agent is idle')

  const all = await review(`identity=${f.client.id}`)
  const pages: any[] = []
  const sizes: number[] = []
  let cursor: string | null = null
  do {
    const page: any = await review(`identity=${f.client.id}&limit=2${cursor !== null ? `&cursor=${cursor}` : ''}`)
    sizes.push(page.items.length)
    pages.push(...page.items)
    cursor = page.next_cursor
  } while (cursor !== null)
  t.strictSame(sizes, [2, 2, 1], 'pages of at most limit')
  t.strictSame(pages, all.items, 'limit and cursor walk every finding once, in order')

  const bad: Array<[string, string]> = [
    ['days=0', 'days must be an integer from 1 to 400'],
    ['days=401', 'days must be an integer from 1 to 400'],
    ['days=abc', 'days must be an integer from 1 to 400'],
    ['days=1.5', 'days must be an integer from 1 to 400'],
    ['kind=nope', 'kind must be one of idle_identity, unused_entitlement, unused_scope, unused_credential, service_account, workload, agent, automation, resource_server, admin'],
    ['identity=nobody-at-all', 'identity: unknown identity'],
    ['cursor=xyz', 'cursor is malformed'],
    ['limit=0', 'querystring/limit must match pattern "^[1-9][0-9]{0,2}$"']
  ]
  for (const [query, description] of bad) {
    const res = await adminCall(app, admin, 'GET', `/admin/review?${query}`)
    t.strictSame([res.statusCode, res.json()], [400, { error: 'invalid_request', error_description: description }], query)
  }
  const ok = await adminCall(app, admin, 'GET', '/admin/review?days=400')
  t.equal(ok.statusCode, 200, 'days=400 is allowed')
  assertNoStore(t, ok)
  const reader = await adminToken(app, 'admin:read')
  t.equal((await adminCall(app, reader, 'GET', '/admin/review')).statusCode, 200, 'admin:read suffices')
  const writer = await adminToken(app, 'admin:write')
  t.equal((await adminCall(app, writer, 'GET', '/admin/review')).statusCode, 403, 'without admin:read: 403')
  t.equal((await app.inject({ method: 'GET', url: '/admin/review' })).statusCode, 401, 'no token: 401')
})

t.test('USAGE_RETENTION_DAYS: default 400, validated at start', async (t) => {
  t.equal(testConfig().usageRetentionDays, 400, 'default')
  t.equal(testConfig({ USAGE_RETENTION_DAYS: '30' }).usageRetentionDays, 30, 'set')
  const problems = (env: Record<string, string>): unknown => { try { testConfig(env); return [] } catch (err) { return (err as { problems?: unknown }).problems } }
  t.strictSame(problems({ USAGE_RETENTION_DAYS: '0' }), ['USAGE_RETENTION_DAYS: must be between 1 and 3650, got 0'], 'out of range')
  t.strictSame(problems({ USAGE_RETENTION_DAYS: 'forever' }), ['USAGE_RETENTION_DAYS: must be a whole number, got "forever"'], 'not a number')
})
