import t from '../support/tap.js'
import { sql } from '../../server/store/kysely.js'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { adminCall, ADMIN_SECRET, basic, decodePayload, form, FORM_TYPE, ISSUER, sharedStore } from '../helper.js'
import { createClient } from '../support/admin.js'
import { tokenFor } from '../support/oauth.js'
import { feedFixture, type Instance, startInstance } from '../support/instances.js'
import { waitFor } from '../support/wait.js'
import { bumpEpoch } from '../../server/store/epochs.js'
import { encodeCursor } from '../../server/feed/cursor.js'
import { readSse } from '../../packages/verifier/src/sse.js'

const root = t
const onPostgres = process.env.DATABASE_URL !== undefined
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/

const get = async (i: Instance, url: string, authorization?: string, headers: Record<string, string> = {}): Promise<any> =>
  await i.app.inject({ url, headers: { ...(authorization !== undefined && { authorization }), ...headers } })
const jti = (token: string): string => decodePayload(token).jti

t.test('who may read the feed', async (t) => {
  const a = await startInstance(root, t)
  const f = await feedFixture(a.app)
  const rs = basic(f.rs.clientId, f.rs.secret)
  const denied = { error: 'unauthorized_client', error_description: 'the client may not read the epoch feed' }
  const unauthenticated = { error: 'invalid_client', error_description: 'client authentication failed' }
  const cases: Array<[string, () => Promise<any>, number, unknown]> = [
    ['no credentials', async () => await get(a, '/epochs'), 401, unauthenticated],
    ['a wrong secret', async () => await get(a, '/epochs', basic(f.rs.clientId, 'tly_wrong')), 401, unauthenticated],
    ['an unknown client', async () => await get(a, '/epochs', basic('nobody', 'tly_wrong')), 401, unauthenticated],
    ['a secret in the query string', async () => await get(a, `/epochs?client_id=${f.rs.clientId}&client_secret=${f.rs.secret}`), 401, unauthenticated],
    ['a client that introspects nothing', async () => await get(a, '/epochs', basic(f.svc.clientId, f.svc.secret)), 403, denied],
    ['the stream, for the same client', async () => await get(a, '/epochs/stream', basic(f.svc.clientId, f.svc.secret)), 403, denied],
    ['POST without credentials', async () => await a.app.inject({ method: 'POST', url: '/epochs', headers: { 'content-type': FORM_TYPE }, payload: '' }), 401, unauthenticated],
    ['POST with JSON', async () => await a.app.inject({ method: 'POST', url: '/epochs', headers: { authorization: rs, 'content-type': 'application/json' }, payload: '{}' }), 400, { error: 'invalid_request', error_description: 'the request body must be application/x-www-form-urlencoded' }]
  ]
  for (const [what, call, status, body] of cases) {
    const res = await call()
    t.equal(res.statusCode, status, what)
    t.strictSame(res.json(), body, what)
    t.equal(res.headers['cache-control'], 'no-store', what)
    if (status === 401) t.equal(res.headers['www-authenticate'], `Basic realm="${ISSUER}"`, what)
  }
  for (const [what, res] of [
    ['an introspector with Basic', await get(a, '/epochs', rs)],
    ['an admin with Basic', await get(a, '/epochs', basic('admin', ADMIN_SECRET))],
    ['an introspector with client_secret_post', await a.app.inject({ method: 'POST', url: '/epochs', headers: { 'content-type': FORM_TYPE }, payload: form({ client_id: f.rs.clientId, client_secret: f.rs.secret }) })]
  ] as const) {
    t.equal(res.statusCode, 200, what)
    t.equal(res.headers.pragma, 'no-cache', what)
  }

  // private_key_jwt through POST.
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
  t.equal((await adminCall(a.app, f.admin, 'POST', `/admin/identities/${f.rs.id}/keys`, { jwk: { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' } })).statusCode, 201)
  const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(f.rs.clientId).setSubject(f.rs.clientId)
    .setAudience(ISSUER).setJti(crypto.randomUUID()).setIssuedAt().setExpirationTime('1m').sign(privateKey)
  const res = await a.app.inject({ method: 'POST', url: '/epochs', headers: { 'content-type': FORM_TYPE }, payload: form({ client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }) })
  t.equal(res.statusCode, 200, 'private_key_jwt')
})

t.test('the snapshot, the events after it and their shapes', async (t) => {
  const a = await startInstance(root, t)
  const f = await feedFixture(a.app)
  const rs = basic(f.rs.clientId, f.rs.secret)
  const quiet = await createClient(a.app, f.admin)
  const token = await tokenFor(a.app, f.svc, { resource: f.resource })
  const before = (await get(a, '/epochs', rs)).json()

  t.equal((await adminCall(a.app, f.admin, 'POST', `/admin/identities/${f.svc.id}/revoke-sessions`, {})).statusCode, 200)
  const fresh = await tokenFor(a.app, f.svc, { resource: f.resource })
  const revoked = await a.app.inject({ method: 'POST', url: '/revoke', headers: { authorization: basic(f.svc.clientId, f.svc.secret), 'content-type': FORM_TYPE }, payload: form({ token: fresh }) })
  t.equal(revoked.statusCode, 200)
  const exp = decodePayload(fresh).exp

  const res = await get(a, '/epochs', rs)
  t.equal(res.statusCode, 200)
  const snapshot = res.json()
  t.strictSame(Object.keys(snapshot).sort(), ['cursor', 'epochs', 'max_staleness_s', 'removed_keys', 'revoked'])
  t.strictSame(snapshot.removed_keys, [], 'no key was removed')
  t.equal(snapshot.max_staleness_s, 2)
  t.equal(snapshot.epochs[f.svc.id], 2)
  t.equal(snapshot.epochs[quiet.id], undefined, 'identities at epoch 1 are left out')
  t.strictSame(snapshot.revoked.filter((r: any) => r.sub === f.svc.id), [{ jti: jti(fresh), sub: f.svc.id, exp }])
  t.not(jti(token), jti(fresh))

  const events = await get(a, `/epochs?after=${before.cursor as string}`, rs)
  t.equal(events.statusCode, 200)
  const body = events.json()
  t.equal(body.cursor, snapshot.cursor, 'the last event\'s cursor is the snapshot\'s')
  t.equal(body.events.length, 2)
  t.strictSame(Object.keys(body.events[0]).sort(), ['at', 'epoch', 'reason', 'sub', 'type'])
  t.match(body.events[0], { type: 'epoch', sub: f.svc.id, epoch: 2, reason: 'sessions_revoked', at: RFC3339 })
  t.strictSame(Object.keys(body.events[1]).sort(), ['at', 'exp', 'jti', 'sub', 'type'])
  t.match(body.events[1], { type: 'revoked', jti: jti(fresh), sub: f.svc.id, exp, at: RFC3339 })

  const empty = await get(a, `/epochs?after=${snapshot.cursor as string}&wait=0`, rs)
  t.strictSame(empty.json(), { cursor: snapshot.cursor, events: [] })
  const viaPost = await a.app.inject({ method: 'POST', url: '/epochs', headers: { authorization: rs, 'content-type': FORM_TYPE }, payload: form({ after: before.cursor }) })
  t.strictSame(viaPost.json(), body, 'POST answers as GET')
})

t.test('bad parameters and expired cursors', async (t) => {
  const a = await startInstance(root, t)
  const f = await feedFixture(a.app)
  const rs = basic(f.rs.clientId, f.rs.secret)
  const { cursor } = (await get(a, '/epochs', rs)).json()
  const invalid = (description: string): unknown => ({ error: 'invalid_request', error_description: description })
  const cases: Array<[string, number, unknown]> = [
    ['/epochs?after=nonsense', 400, invalid('after is not a valid cursor')],
    [`/epochs?after=${encodeCursor(1)}x`, 400, invalid('after is not a valid cursor')],
    [`/epochs?after=${Buffer.from('e1.-1').toString('base64url')}`, 400, invalid('after is not a valid cursor')],
    [`/epochs?after=${cursor as string}&wait=31`, 400, invalid('wait must be a number of seconds from 0 to 30')],
    [`/epochs?after=${cursor as string}&wait=-1`, 400, invalid('wait must be a number of seconds from 0 to 30')],
    [`/epochs?after=${cursor as string}&wait=soon`, 400, invalid('wait must be a number of seconds from 0 to 30')],
    [`/epochs?after=${cursor as string}&after=${cursor as string}`, 400, invalid('duplicate parameter: after')],
    ['/epochs?wait=5', 400, invalid('wait requires after')],
    [`/epochs?after=${encodeCursor(Number.MAX_SAFE_INTEGER)}`, 410, invalid('the cursor is older than the feed keeps; take a new snapshot')]
  ]
  for (const [url, status, body] of cases) {
    const res = await get(a, url, rs)
    t.equal(res.statusCode, status, url)
    t.strictSame(res.json(), body, url)
  }
  const stream = await get(a, '/epochs/stream', rs, { 'last-event-id': 'nonsense' })
  t.equal(stream.statusCode, 400)
  t.strictSame(stream.json(), invalid('Last-Event-ID is not a valid cursor'))

  // Purge the oldest events: a cursor from before them is gone (410), the one just before the oldest kept is not.
  const { store } = await sharedStore(root)
  for (let i = 0; i < 3; i++) await store.db.transaction().execute(async (trx) => await bumpEpoch(trx, f.svc.id, 'sessions_revoked'))
  const { rows } = await sql<{ seq: string }>`select seq from epoch_events order by seq desc limit 2`.execute(store.db)
  const keptFrom = Number(rows[1]?.seq)
  await sql`delete from epoch_events where seq < ${keptFrom}`.execute(store.db)
  const gone = await get(a, `/epochs?after=${encodeCursor(keptFrom - 2)}`, rs)
  t.equal(gone.statusCode, 410)
  t.strictSame(gone.json(), invalid('the cursor is older than the feed keeps; take a new snapshot'))
  t.equal((await get(a, '/epochs/stream', rs, { 'last-event-id': encodeCursor(keptFrom - 2) })).statusCode, 410)
  const kept = await get(a, `/epochs?after=${encodeCursor(keptFrom - 1)}`, rs)
  t.equal(kept.statusCode, 200)
  t.strictSame(kept.json().events.map((e: any) => e.epoch), [3, 4])
})

t.test('a long-poll answers when an event commits through another instance', async (t) => {
  const a = await startInstance(root, t)
  const b = onPostgres ? await startInstance(root, t, { ownStore: true }) : a
  const f = await feedFixture(a.app)
  const rs = basic(f.rs.clientId, f.rs.secret)
  const { cursor } = (await get(b, '/epochs', rs)).json()
  const started = Date.now()
  const before = b.app.epochFeed.subscriberCount
  const waiting = get(b, `/epochs?after=${cursor as string}&wait=20`, rs)
  // The change must land while the long-poll is parked on the hub, not before it reads the table.
  await waitFor(() => b.app.epochFeed.subscriberCount > before, { what: 'the long-poll to wait on the hub' })
  t.equal((await adminCall(a.app, f.admin, 'POST', `/admin/identities/${f.svc.id}/revoke-sessions`, {})).statusCode, 200)
  const res = await waiting
  t.ok(Date.now() - started < 10_000, 'well before the wait is up')
  t.match(res.json(), { events: [{ type: 'epoch', sub: f.svc.id, epoch: 2 }] })
  const idle = await get(b, `/epochs?after=${res.json().cursor as string}&wait=0.3`, rs)
  t.strictSame(idle.json(), { cursor: res.json().cursor, events: [] }, 'nothing happened: the same cursor back')
})

t.test('overlapping transactions: a reader never skips the one that commits late', { skip: onPostgres ? false : 'PGlite runs one transaction at a time' }, async (t) => {
  const a = await startInstance(root, t)
  const f = await feedFixture(a.app)
  const rs = basic(f.rs.clientId, f.rs.secret)
  const other = await createClient(a.app, f.admin)
  const { store } = await sharedStore(root)
  const { cursor } = (await get(a, '/epochs', rs)).json()
  const waiting = get(a, `/epochs?after=${cursor as string}&wait=20`, rs)

  let releaseFirst!: () => void
  let firstBumped!: () => void
  const bumped = new Promise<void>((resolve) => { firstBumped = resolve })
  const first = store.db.transaction().execute(async (trx) => {
    await bumpEpoch(trx, f.svc.id, 'sessions_revoked')
    firstBumped()
    await new Promise<void>((resolve) => { releaseFirst = resolve })
  })
  await bumped
  // The second transaction starts after, writes, then asks for its event while the first still holds it open.
  let secondBumpedAt = 0
  const second = store.db.transaction().execute(async (trx) => {
    await trx.updateTable('identities').set({ name: 'late' }).where('id', '=', other.id).execute()
    await bumpEpoch(trx, other.id, 'sessions_revoked')
    secondBumpedAt = Date.now()
  })
  // Wait until Postgres reports the second transaction blocked on a lock the first holds.
  await waitFor(async () => Number((await sql<{ n: string }>`select count(*) as n from pg_locks where not granted`.execute(store.db)).rows[0]?.n) > 0, { what: 'the second transaction to block' })
  t.equal(secondBumpedAt, 0, 'the second event waits for the first to commit: it cannot take a later seq and commit first')
  t.strictSame((await get(a, `/epochs?after=${cursor as string}`, rs)).json().events, [], 'nothing is visible before a commit')
  releaseFirst()
  await Promise.all([first, second])
  const res = await waiting
  const all = (await get(a, `/epochs?after=${cursor as string}`, rs)).json()
  t.strictSame(all.events.map((e: any) => e.sub), [f.svc.id, other.id], 'both, in commit order')
  const seen = [...res.json().events]
  if (seen.length < 2) seen.push(...(await get(a, `/epochs?after=${res.json().cursor as string}`, rs)).json().events)
  t.strictSame(seen.map((e: any) => e.sub), [f.svc.id, other.id], 'the waiting reader gets both, once each')
})

t.test('the SSE stream: events with cursors as ids, heartbeats, resumption, and shutdown', async (t) => {
  const a = await startInstance(root, t)
  const f = await feedFixture(a.app)
  const rs = basic(f.rs.clientId, f.rs.secret)
  const { cursor } = (await get(a, '/epochs', rs)).json()
  const bump = async (): Promise<void> => {
    t.equal((await adminCall(a.app, f.admin, 'POST', `/admin/identities/${f.svc.id}/revoke-sessions`, {})).statusCode, 200)
  }
  await bump()

  const res = await fetch(`${a.url}/epochs/stream`, { headers: { authorization: rs, 'last-event-id': cursor } })
  t.equal(res.status, 200)
  t.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8')
  t.equal(res.headers.get('cache-control'), 'no-store')
  const items: Array<{ kind: string, id?: string, data?: string, text?: string }> = []
  const reading = (async () => { for await (const item of readSse(res.body as ReadableStream<Uint8Array>)) items.push(item) })()
  await waitFor(() => items.some((i) => i.kind === 'event'), { what: 'the backlog event' })
  await bump()
  await waitFor(() => items.filter((i) => i.kind === 'event').length === 2, { what: 'the live event' })
  const events = items.filter((i) => i.kind === 'event')
  t.strictSame(events.map((e) => JSON.parse(e.data as string).epoch), [2, 3])
  const last = (await get(a, '/epochs', rs)).json().cursor
  t.equal(events[1]?.id, last, 'the id is the cursor')
  await waitFor(() => items.filter((i) => i.kind === 'comment' && i.text?.startsWith('heartbeat lag=') === true).length >= 2, { what: 'heartbeats' })

  // Resume after the first event: only the second comes again.
  const resumed = await fetch(`${a.url}/epochs/stream`, { headers: { authorization: rs, 'last-event-id': events[0]?.id as string } })
  const again: Array<{ kind: string, data?: string }> = []
  const readingAgain = (async () => { for await (const item of readSse(resumed.body as ReadableStream<Uint8Array>)) again.push(item) })()
  await waitFor(() => again.some((i) => i.kind === 'event'), { what: 'the resumed event' })
  t.strictSame(again.filter((i) => i.kind === 'event').map((e) => JSON.parse(e.data as string).epoch), [3])
  t.equal(a.app.epochFeed.subscriberCount, 2)

  // Shutdown ends open streams instead of waiting for them.
  const closing = Date.now()
  await a.app.close()
  await Promise.all([reading, readingAgain])
  t.ok(Date.now() - closing < 5000, 'app.close() does not wait for the streams')
})
