// Every admin change against every other, on shared rows, concurrently (issue 9 findings 4 and 5,
// deliverable 2). Postgres only: PGlite has one connection, so nothing there runs concurrently.
// Checks: no 5xx (no deadlock or serialization failure reaches a client), and an end state some serial
// order could give — no entitlement scope outside its resource's scopes, epochs that only go up and went
// up at least once per acknowledged narrowing, an audit row per acknowledged change.
import t from '../../support/tap.js'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { sql } from '../../../server/store/kysely.js'
import { ADMIN_SECRET, adminCall, adminToken, basic, build, FORM_TYPE, form, requestToken, sharedStore, uniqueId } from '../../helper.js'
import { createClient, expectStatus } from '../../support/admin.js'

const ROUNDS = 8

interface Op { name: string, action: string, identity: () => string, narrows: boolean, ok: number[], run: () => Promise<LightMyRequestResponse> }

async function round (app: FastifyInstance, token: string): Promise<{ fivexx: string[], ops: Array<{ op: Op, status: number }>, ids: Record<string, string>, resourceId: string, epochsBefore: Record<string, number> }> {
  const call = async (m: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown): Promise<LightMyRequestResponse> => await adminCall(app, token, m, url, body)
  const resource = expectStatus(await call('POST', '/admin/resources', { identifier: `https://${uniqueId('race')}.example`, scopes: ['read', 'write', 'extra'] }), 201)
  const ids: Record<string, string> = {}
  const ents: Record<string, string> = {}
  const creds: Record<string, string> = {}
  for (const name of ['a', 'b', 'c']) {
    const identity = expectStatus(await call('POST', '/admin/identities', { client_id: uniqueId(name), kind: 'service_account' }), 201)
    ids[name] = identity.id
    ents[name] = expectStatus(await call('POST', `/admin/identities/${identity.id}/entitlements`, { resource: resource.identifier, scopes: ['read', 'write'] }), 201).id
    creds[name] = expectStatus(await call('POST', `/admin/identities/${identity.id}/secrets`, {}), 201).id
  }
  const epochsBefore: Record<string, number> = {}
  for (const [name, id] of Object.entries(ids)) epochsBefore[name] = expectStatus(await call('GET', `/admin/identities/${id}`), 200).epoch
  const cClientId = expectStatus(await call('GET', `/admin/identities/${ids.c as string}`), 200).client_id
  const r = resource.id as string
  const id = (n: string) => (): string => ids[n] as string
  const ops: Op[] = [
    { name: 'PATCH resource: remove write and extra', action: 'resource.update', identity: () => '', narrows: false, ok: [200, 400], run: async () => await call('PATCH', `/admin/resources/${r}`, { scopes: ['read'], introspectors: [cClientId] }) },
    { name: 'POST entitlement write (a)', action: 'entitlement.create', identity: id('a'), narrows: false, ok: [201, 400, 404], run: async () => await call('POST', `/admin/identities/${ids.a as string}/entitlements`, { resource: resource.identifier, scopes: ['write'] }) },
    { name: 'POST entitlement extra (b)', action: 'entitlement.create', identity: id('b'), narrows: false, ok: [201, 400, 404], run: async () => await call('POST', `/admin/identities/${ids.b as string}/entitlements`, { resource: resource.identifier, scopes: ['extra'] }) },
    { name: 'PUT entitlements (b)', action: 'entitlements.replace', identity: id('b'), narrows: false, ok: [200, 400, 404], run: async () => await call('PUT', `/admin/identities/${ids.b as string}/entitlements`, [{ resource: resource.identifier, scopes: ['read', 'write'] }]) },
    { name: 'DELETE entitlement (a)', action: 'entitlement.delete', identity: id('a'), narrows: true, ok: [204, 404], run: async () => await call('DELETE', `/admin/identities/${ids.a as string}/entitlements/${ents.a as string}`) },
    { name: 'PATCH disable (b)', action: 'identity.update', identity: id('b'), narrows: true, ok: [200, 404], run: async () => await call('PATCH', `/admin/identities/${ids.b as string}`, { status: 'disabled' }) },
    { name: 'DELETE identity (c)', action: 'identity.delete', identity: id('c'), narrows: true, ok: [204, 404], run: async () => await call('DELETE', `/admin/identities/${ids.c as string}`) },
    { name: 'DELETE credential (a)', action: 'credential.revoke', identity: id('a'), narrows: true, ok: [204, 404], run: async () => await call('DELETE', `/admin/identities/${ids.a as string}/credentials/${creds.a as string}`) },
    { name: 'DELETE credential (c)', action: 'credential.revoke', identity: id('c'), narrows: false, ok: [204, 404], run: async () => await call('DELETE', `/admin/identities/${ids.c as string}/credentials/${creds.c as string}`) },
    { name: 'revoke-sessions (a)', action: 'sessions.revoke', identity: id('a'), narrows: true, ok: [200, 404], run: async () => await call('POST', `/admin/identities/${ids.a as string}/revoke-sessions`, {}) },
    { name: 'revoke-sessions (c)', action: 'sessions.revoke', identity: id('c'), narrows: false, ok: [200, 404], run: async () => await call('POST', `/admin/identities/${ids.c as string}/revoke-sessions`, {}) },
    {
      name: '/revoke identity= (b)', action: 'sessions.revoke', identity: id('b'), narrows: true, ok: [200, 400],
      run: async () => await app.inject({ method: 'POST', url: '/revoke', headers: { authorization: basic('admin', ADMIN_SECRET), 'content-type': FORM_TYPE }, payload: form({ identity: ids.b as string }) })
    }
  ]
  const results = await Promise.all(ops.map(async (op) => ({ op, status: (await op.run()).statusCode })))
  const fivexx = results.filter((x) => x.status >= 500 || !x.op.ok.includes(x.status)).map((x) => `${x.op.name}: ${x.status}`)
  return { fivexx, ops: results, ids, resourceId: r, epochsBefore }
}

t.test('concurrent admin changes on shared rows: no 5xx, a serial-equivalent end state', { skip: process.env.DATABASE_URL === undefined ? 'Postgres only (PGlite is single-connection)' : false }, async (t) => {
  const app = await build(t)
  const { store } = await sharedStore(t)
  const db = store.db
  const token = await adminToken(app)
  const unexpected: string[] = []
  const invariantFailures: string[] = []
  for (let i = 0; i < ROUNDS; i++) {
    const { fivexx, ops, ids, resourceId, epochsBefore } = await round(app, token)
    unexpected.push(...fivexx.map((f) => `round ${i}: ${f}`))
    const resource = await db.selectFrom('resources').select('scopes').where('id', '=', resourceId).executeTakeFirstOrThrow()
    const ents = await db.selectFrom('entitlements').select(['identity_id', 'scopes']).where('resource_id', '=', resourceId).execute()
    for (const e of ents) {
      const outside = e.scopes.filter((s) => !resource.scopes.includes(s))
      if (outside.length > 0) invariantFailures.push(`round ${i}: ${e.identity_id} holds ${outside.join(',')} which the resource no longer defines`)
    }
    for (const [name, identityId] of Object.entries(ids)) {
      const row = await db.selectFrom('identities').select('epoch').where('id', '=', identityId).executeTakeFirstOrThrow()
      const acknowledged = ops.filter((x) => x.op.narrows && x.op.identity() === identityId && x.op.ok[0] === x.status).length
      if (row.epoch - (epochsBefore[name] as number) < acknowledged) invariantFailures.push(`round ${i}: ${name} epoch ${epochsBefore[name] as number} → ${row.epoch} after ${acknowledged} narrowings`)
      const events = await db.selectFrom('epoch_events').select('epoch').where('identity_id', '=', identityId).where('type', '=', 'epoch').orderBy('seq').execute()
      const epochs = events.map((e) => e.epoch as number)
      if (epochs.some((e, k) => k > 0 && e <= (epochs[k - 1] as number))) invariantFailures.push(`round ${i}: ${name} feed epochs not increasing: ${epochs.join(',')}`)
      if (epochs.length > 0 && epochs[epochs.length - 1] !== row.epoch) invariantFailures.push(`round ${i}: ${name} last feed epoch ${epochs[epochs.length - 1] as number} ≠ ${row.epoch}`)
    }
    for (const { op, status } of ops) {
      if (status !== op.ok[0]) continue
      const q = db.selectFrom('audit_events').select('id').where('action', '=', op.action)
      const audited = await (op.identity() === '' ? q.where(sql<string>`after->>'id'`, '=', resourceId) : q.where('identity_id', '=', op.identity())).executeTakeFirst()
      if (audited === undefined) invariantFailures.push(`round ${i}: ${op.name} acknowledged without an audit row`)
    }
  }
  t.strictSame(unexpected, [], `${ROUNDS} rounds of 12 concurrent changes: every answer a 2xx or the 4xx a serial order could give`)
  t.strictSame(invariantFailures, [], 'scopes within the resource, epochs monotone and bumped per acknowledged narrowing, an audit row per acknowledged change')
})

t.test('a scope removal and a grant of that scope serialise: never both acknowledged with the scope still held (finding 5)', { skip: process.env.DATABASE_URL === undefined ? 'Postgres only (PGlite is single-connection)' : false }, async (t) => {
  const app = await build(t)
  const token = await adminToken(app)
  const lost: string[] = []
  let bothAcknowledged = 0
  for (let i = 0; i < 15; i++) {
    const identifier = `https://${uniqueId('grant-race')}.example`
    const resource = (await adminCall(app, token, 'POST', '/admin/resources', { identifier, scopes: ['read', 'write'] })).json()
    const svc = await createClient(app, token, { entitlements: [{ resource: identifier, scopes: ['read'] }] })
    const [patch, post] = await Promise.all([
      adminCall(app, token, 'PATCH', `/admin/resources/${resource.id as string}`, { scopes: ['read'] }),
      adminCall(app, token, 'POST', `/admin/identities/${svc.id}/entitlements`, { resource: identifier, scopes: ['write'] })
    ])
    if (patch.statusCode !== 200 || ![201, 400].includes(post.statusCode)) lost.push(`round ${i}: PATCH ${patch.statusCode}, POST ${post.statusCode} ${post.body}`)
    if (post.statusCode === 201) bothAcknowledged++
    const write = await requestToken(app, svc.clientId, svc.secret, { resource: identifier, scope: 'write' })
    if (write.statusCode !== 400 || write.json().error !== 'invalid_scope') lost.push(`round ${i}: /token scope=write → ${write.statusCode} ${String(write.json().error ?? 'a token')}`)
  }
  t.strictSame(lost, [], `15 rounds (${bothAcknowledged} with both acknowledged): write is never held once its removal is acknowledged`)
})
