// /admin/identities and their credentials (docs/reference/admin-api.md): create, list, read, change, delete (the UUID is never
// reused), secrets shown once, public keys only, credential revocation bumping the epoch.
import t from '../../support/tap.js'
import { generateKeyPairSync } from 'node:crypto'
import { adminCall, adminToken, build, decodePayload, requestToken, uniqueId } from '../../helper.js'
import { createClient, createResource, epochEvents, epochOf, expectStatus, inSeconds } from '../../support/admin.js'
import { assertInvalidClient, assertNoStore } from '../../support/oauth.js'

const app = await build(t)
const admin = await adminToken(app)
const adminId = decodePayload(admin).sub as string
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

t.test('POST /admin/identities → 201 with the created identity', async (t) => {
  const clientId = uniqueId('agent')
  const res = await adminCall(app, admin, 'POST', '/admin/identities', { client_id: clientId, kind: 'agent', name: 'Build bot', token_ttl_s: 120, metadata: { team: 'ci', n: 1 } })
  t.equal(res.statusCode, 201)
  assertNoStore(t, res)
  const body = res.json()
  t.match(body.id, UUID)
  t.match(body.created_at, RFC3339)
  t.strictSame(body, {
    id: body.id, client_id: clientId, kind: 'agent', name: 'Build bot', status: 'active', epoch: 1, token_ttl_s: 120,
    metadata: { team: 'ci', n: 1 }, created_at: body.created_at, updated_at: body.updated_at
  })
  const minimal = expectStatus(await adminCall(app, admin, 'POST', '/admin/identities', { client_id: uniqueId('w'), kind: 'workload' }))
  t.strictSame([minimal.name, minimal.token_ttl_s, minimal.metadata, minimal.status, minimal.epoch], [null, null, {}, 'active', 1], 'defaults')

  for (const kind of ['service_account', 'workload', 'agent', 'automation', 'resource_server', 'admin']) {
    t.equal((await adminCall(app, admin, 'POST', '/admin/identities', { client_id: uniqueId(kind), kind })).statusCode, 201, `kind ${kind}`)
  }
  for (const id of ['a', 'A.b_c-d:e', 'x'.repeat(128), 'spiffe:cluster.local:ns:default:sa:web']) {
    t.equal((await adminCall(app, admin, 'POST', '/admin/identities', { client_id: id, kind: 'workload' })).statusCode, 201, `client_id ${id.slice(0, 40)}`)
  }

  const dup = await adminCall(app, admin, 'POST', '/admin/identities', { client_id: clientId, kind: 'workload' })
  t.equal(dup.statusCode, 409, 'duplicate client_id')
  t.strictSame(dup.json(), { error: 'conflict', error_description: 'client_id is already in use' })
  const otherCase = await adminCall(app, admin, 'POST', '/admin/identities', { client_id: clientId.toUpperCase(), kind: 'workload' })
  t.equal(otherCase.statusCode, 201, 'client_id is compared byte for byte: another case is another client_id')
})

t.test('POST /admin/identities validation names the field', async (t) => {
  const cases: Array<{ body?: unknown, raw?: string, type?: string, description: string, msg: string }> = [
    { body: { client_id: 'bad id', kind: 'agent' }, description: 'body/client_id must match pattern "^[A-Za-z0-9._:-]{1,128}$"', msg: 'space in client_id' },
    { body: { client_id: '', kind: 'agent' }, description: 'body/client_id must match pattern "^[A-Za-z0-9._:-]{1,128}$"', msg: 'empty client_id' },
    { body: { client_id: 'x'.repeat(129), kind: 'agent' }, description: 'body/client_id must match pattern "^[A-Za-z0-9._:-]{1,128}$"', msg: '129 chars' },
    { body: { client_id: 'caf\u00e9', kind: 'agent' }, description: 'body/client_id must match pattern "^[A-Za-z0-9._:-]{1,128}$"', msg: 'non-ASCII' },
    { body: { client_id: 'a/b', kind: 'agent' }, description: 'body/client_id must match pattern "^[A-Za-z0-9._:-]{1,128}$"', msg: 'slash' },
    { body: { client_id: 123, kind: 'agent' }, description: 'body/client_id must be string', msg: 'number client_id' },
    { body: { client_id: '123e4567-e89b-12d3-a456-426614174000', kind: 'agent' }, description: 'client_id must not be in UUID form', msg: 'UUID form' },
    { body: { client_id: '123E4567-E89B-12D3-A456-426614174000', kind: 'agent' }, description: 'client_id must not be in UUID form', msg: 'UUID form, upper case' },
    { body: { kind: 'agent' }, description: "body must have required property 'client_id'", msg: 'no client_id' },
    { body: { client_id: 'ok-1' }, description: "body must have required property 'kind'", msg: 'no kind' },
    { body: { client_id: 'ok-1', kind: 'robot' }, description: 'body/kind must be equal to one of the allowed values', msg: 'bad kind' },
    { body: { client_id: 'ok-1', kind: 'agent', token_ttl_s: 0 }, description: 'body/token_ttl_s must be >= 1', msg: 'ttl 0' },
    { body: { client_id: 'ok-1', kind: 'agent', token_ttl_s: 1.5 }, description: 'body/token_ttl_s must be integer', msg: 'fractional ttl' },
    { body: { client_id: 'ok-1', kind: 'agent', token_ttl_s: '60' }, description: 'body/token_ttl_s must be integer', msg: 'ttl as a string is not coerced' },
    { body: { client_id: 'ok-1', kind: 'agent', metadata: [1] }, description: 'body/metadata must be object', msg: 'metadata array' },
    { body: [], description: 'body must be object', msg: 'array body' },
    { body: { client_id: 'ok-1', kind: 'agent', secret: 'x' }, description: 'body/secret is not allowed', msg: 'an unknown member is named' },
    { body: { client_id: 'ok-1', kind: 'agent', metadata: { a: 1 }, id: '00000000-0000-4000-8000-000000000000' }, description: 'body/id is not allowed', msg: 'the id cannot be chosen' },
    { raw: '{"client_id": "ok-1", "kind": ', description: 'the request body is not valid JSON', msg: 'truncated JSON' },
    { raw: 'client_id=ok-1&kind=agent', type: 'application/x-www-form-urlencoded', description: 'body must be object', msg: 'form body' },
    { raw: 'hello', type: 'text/plain', description: 'body must be object', msg: 'text body' }
  ]
  for (const c of cases) {
    const res = c.raw === undefined
      ? await adminCall(app, admin, 'POST', '/admin/identities', c.body)
      : await app.inject({ method: 'POST', url: '/admin/identities', headers: { authorization: `Bearer ${admin}`, 'content-type': c.type ?? 'application/json' }, payload: c.raw })
    t.equal(res.statusCode, 400, c.msg)
    t.strictSame(res.json(), { error: 'invalid_request', error_description: c.description }, c.msg)
  }
  const count = await app.tally.db.selectFrom('identities').select('id').where('client_id', '=', 'ok-1').execute()
  t.equal(count.length, 0, 'nothing was created')
})

t.test('GET /admin/identities filters by kind and status and pages with limit/cursor', async (t) => {
  const kind = 'automation'
  // Identities of this kind made by earlier tests of this file.
  const made: string[] = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities?kind=${kind}&limit=200`), 200).items.map((i: any) => i.id)
  const before = made.length
  for (let i = 0; i < 5; i++) made.push(expectStatus(await adminCall(app, admin, 'POST', '/admin/identities', { client_id: uniqueId('auto'), kind })).id)
  expectStatus(await adminCall(app, admin, 'PATCH', `/admin/identities/${made[before] as string}`, { status: 'disabled' }), 200)
  expectStatus(await adminCall(app, admin, 'DELETE', `/admin/identities/${made[before + 1] as string}`), 204)

  const all: Array<Record<string, any>> = []
  let cursor: string | null = null
  let pages = 0
  do {
    const url: string = `/admin/identities?kind=${kind}&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`
    const res = await adminCall(app, admin, 'GET', url)
    t.equal(res.statusCode, 200, url)
    assertNoStore(t, res, url)
    const body = res.json()
    t.strictSame(Object.keys(body).sort(), ['items', 'next_cursor'], 'list shape')
    t.ok(body.items.length <= 2, 'limit respected')
    all.push(...body.items)
    cursor = body.next_cursor
    pages++
  } while (cursor !== null && pages < 10)
  t.strictSame(all.map((i) => i.id).sort(), [...made].sort(), 'every automation identity once, deleted ones included')
  t.ok(all.every((i) => i.kind === kind), 'only that kind')
  t.equal(pages, Math.ceil(made.length / 2), `${made.length} items at 2 per page`)
  t.equal(new Set(all.map((i) => i.id)).size, made.length, 'no duplicates across pages')

  const disabled = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities?kind=${kind}&status=disabled`), 200)
  t.strictSame(disabled.items.map((i: any) => i.id), [made[before]], 'status=disabled')
  const deleted = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities?kind=${kind}&status=deleted`), 200)
  t.strictSame(deleted.items.map((i: any) => i.id), [made[before + 1]], 'status=deleted')
  const active = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities?kind=${kind}&status=active`), 200)
  t.strictSame(active.items.map((i: any) => i.id).sort(), [...made.slice(0, before), ...made.slice(before + 2)].sort(), 'status=active')
  const admins = expectStatus(await adminCall(app, admin, 'GET', '/admin/identities?kind=admin&limit=200'), 200)
  t.ok(admins.items.some((i: any) => i.id === adminId), 'the bootstrap admin is of kind admin')
  t.notOk(JSON.stringify(admins).includes('secret'), 'no secret material in the list')

  const bad: Array<{ query: string, description: string }> = [
    { query: 'kind=robot', description: 'querystring/kind must be equal to one of the allowed values' },
    { query: 'status=gone', description: 'querystring/status must be equal to one of the allowed values' },
    { query: 'limit=0', description: 'querystring/limit must match pattern "^[1-9][0-9]{0,2}$"' },
    { query: 'limit=abc', description: 'querystring/limit must match pattern "^[1-9][0-9]{0,2}$"' },
    { query: 'cursor=zzz', description: 'cursor is malformed' }
  ]
  for (const c of bad) {
    const res = await adminCall(app, admin, 'GET', `/admin/identities?${c.query}`)
    t.equal(res.statusCode, 400, c.query)
    t.strictSame(res.json(), { error: 'invalid_request', error_description: c.description }, c.query)
  }
})

t.test('GET /admin/identities/:id by UUID or client_id, with entitlements and credentials, never a secret', async (t) => {
  const { identifier: resource } = await createResource(app, admin, { scopes: ['read', 'write'] })
  const expiresAt = inSeconds(3600)
  const client = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'], conditions: { env: 'dev' }, expires_at: expiresAt, reason: 'onboarding' }] })
  const byUuid = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${client.id}`), 200)
  const byClientId = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${client.clientId}`), 200)
  t.strictSame(byClientId, byUuid, 'the same identity both ways')
  t.equal(byUuid.id, client.id)
  t.equal(byUuid.client_id, client.clientId)
  const e = byUuid.entitlements[0]
  t.strictSame(byUuid.entitlements, [{
    id: e.id, resource, scopes: ['read'], conditions: { env: 'dev' }, expires_at: new Date(expiresAt).toISOString(), reason: 'onboarding', granted_by: adminId, created_at: e.created_at,
    last_used_at: null, scopes_last_used_at: { read: null }
  }], 'entitlements, resource named by identifier')
  const c = byUuid.credentials[0]
  t.strictSame(byUuid.credentials, [{ id: client.secretId, type: 'client_secret', prefix: client.secret.slice(0, 8), expires_at: null, revoked_at: null, created_at: c.created_at, last_used_at: null }], 'credentials')
  const text = JSON.stringify(byUuid)
  t.notOk(text.includes(client.secret), 'the secret is never shown again')
  t.notOk(/hash/i.test(text), 'nor its hash')
  t.equal(byUuid.credentials[0].prefix, 'tly_' + client.secret.slice(4, 8), 'only a short recognisable prefix')

  const notFound: string[] = ['nobody-here', '00000000-0000-4000-8000-000000000000', client.clientId.toUpperCase()]
  for (const id of notFound) {
    const res = await adminCall(app, admin, 'GET', `/admin/identities/${id}`)
    t.equal(res.statusCode, 404, id)
    t.strictSame(res.json(), { error: 'not_found', error_description: 'identity not found' }, id)
  }
})

t.test('PATCH /admin/identities/:id → 200 changed object; disable bumps, re-enable does not', async (t) => {
  const { identifier: resource } = await createResource(app, admin)
  const client = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const patched = await adminCall(app, admin, 'PATCH', `/admin/identities/${client.clientId}`, { name: 'Renamed', token_ttl_s: 90, metadata: { owner: 'sre' } })
  t.equal(patched.statusCode, 200)
  t.match(patched.json(), { id: client.id, name: 'Renamed', token_ttl_s: 90, metadata: { owner: 'sre' }, status: 'active', epoch: 1 })
  t.equal((await requestToken(app, client.clientId, client.secret)).json().expires_in, 90, 'the new ttl applies to the next token')
  const cleared = expectStatus(await adminCall(app, admin, 'PATCH', `/admin/identities/${client.id}`, { name: null, token_ttl_s: null }), 200)
  t.strictSame([cleared.name, cleared.token_ttl_s], [null, null], 'null clears')
  t.equal(await epochOf(app, client.id), 1, 'no bump for name, ttl, metadata')

  const disabled = expectStatus(await adminCall(app, admin, 'PATCH', `/admin/identities/${client.id}`, { status: 'disabled' }), 200)
  t.equal(disabled.status, 'disabled')
  t.equal(disabled.epoch, 2, 'disabling bumps')
  assertInvalidClient(t, await requestToken(app, client.clientId, client.secret), 'a disabled identity cannot get a token')
  t.equal(expectStatus(await adminCall(app, admin, 'PATCH', `/admin/identities/${client.id}`, { status: 'disabled' }), 200).epoch, 2, 'disabling again does not bump again')
  const enabled = expectStatus(await adminCall(app, admin, 'PATCH', `/admin/identities/${client.id}`, { status: 'active' }), 200)
  t.equal(enabled.epoch, 2, 're-enabling does not bump')
  t.equal(decodePayload((await requestToken(app, client.clientId, client.secret)).json().access_token).epoch, 2, 'tokens resume at the new epoch')
  t.strictSame((await epochEvents(app, client.id)).map((e) => [e.epoch, e.reason]), [[2, 'identity_disabled']], 'one epoch event')

  const bad: Array<{ body: unknown, description: string, msg: string }> = [
    { body: { status: 'deleted' }, description: 'body/status must be equal to one of the allowed values', msg: 'status deleted goes through DELETE' },
    { body: { client_id: 'renamed' }, description: 'body/client_id is not allowed', msg: 'client_id cannot change' },
    { body: { token_ttl_s: -1 }, description: 'body/token_ttl_s must be >= 1, body/token_ttl_s must be null, body/token_ttl_s must match a schema in anyOf', msg: 'negative ttl' }
  ]
  for (const c of bad) {
    const res = await adminCall(app, admin, 'PATCH', `/admin/identities/${client.id}`, c.body)
    t.equal(res.statusCode, 400, c.msg)
    t.strictSame(res.json(), { error: 'invalid_request', error_description: c.description }, c.msg)
  }
  t.equal((await adminCall(app, admin, 'PATCH', '/admin/identities/nobody-at-all', { name: 'x' })).statusCode, 404, 'unknown identity')
})

t.test('DELETE /admin/identities/:id → 204, status deleted, epoch bumped, credentials revoked; the UUID is never reused', async (t) => {
  const { identifier: resource } = await createResource(app, admin)
  const clientId = uniqueId('gone')
  const client = await createClient(app, admin, { clientId, entitlements: [{ resource, scopes: ['read'] }] })
  const del = await adminCall(app, admin, 'DELETE', `/admin/identities/${clientId}`)
  t.equal(del.statusCode, 204)
  t.equal(del.body, '', 'no body')
  assertNoStore(t, del)
  const old = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${client.id}`), 200)
  t.equal(old.status, 'deleted', 'still readable by UUID, as deleted')
  t.equal(old.epoch, 2, 'epoch bumped')
  t.ok(old.credentials.every((c: any) => c.revoked_at !== null), 'credentials revoked')
  t.equal((await adminCall(app, admin, 'GET', `/admin/identities/${clientId}`)).statusCode, 404, 'its client_id no longer names it')
  t.equal((await adminCall(app, admin, 'DELETE', `/admin/identities/${client.id}`)).statusCode, 404, 'deleting twice → 404')
  t.equal((await adminCall(app, admin, 'PATCH', `/admin/identities/${client.id}`, { status: 'active' })).statusCode, 404, 'a deleted identity cannot be re-enabled')
  t.equal((await adminCall(app, admin, 'POST', `/admin/identities/${client.id}/secrets`, {})).statusCode, 404, 'nor given a secret')
  assertInvalidClient(t, await requestToken(app, clientId, client.secret), 'deleted identity')

  const reborn = await createClient(app, admin, { clientId, entitlements: [{ resource, scopes: ['read'] }] })
  t.not(reborn.id, client.id, 'the client_id is reusable, with a new UUID')
  const token = expectStatus(await requestToken(app, clientId, reborn.secret), 200).access_token
  t.equal(decodePayload(token).sub, reborn.id, 'tokens now carry the new UUID')
  t.equal(decodePayload(token).epoch, 1, 'and a fresh epoch')
  assertInvalidClient(t, await requestToken(app, clientId, client.secret), "the old identity's secret does not work for the new one")
  t.equal(expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${client.id}`), 200).status, 'deleted', 'the old UUID still reads as deleted')
  t.equal(expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${clientId}`), 200).id, reborn.id, 'the client_id names the new one')
  t.strictSame((await epochEvents(app, client.id)).map((e) => [e.epoch, e.reason]), [[2, 'identity_deleted']])
})

t.test('POST /admin/identities/:id/secrets → 201 the credential and its client_secret, shown once', async (t) => {
  const { identifier: resource } = await createResource(app, admin)
  const client = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const expiresAt = inSeconds(86_400)
  const res = await adminCall(app, admin, 'POST', `/admin/identities/${client.id}/secrets`, { expires_at: expiresAt })
  t.equal(res.statusCode, 201)
  assertNoStore(t, res)
  const body = res.json()
  t.strictSame(Object.keys(body).sort(), ['client_secret', 'created_at', 'expires_at', 'id', 'last_used_at', 'prefix', 'revoked_at', 'type'])
  t.strictSame([body.type, body.prefix, body.revoked_at, body.last_used_at], ['client_secret', body.client_secret.slice(0, 8), null, null], 'a client secret, its prefix, unused')
  t.match(body.id, UUID)
  t.match(body.client_secret, /^tly_[A-Za-z0-9_-]{43,}$/, 'tly_ prefix, ≥ 256 bits')
  t.ok(Buffer.from(body.client_secret.slice(4), 'base64url').length >= 32, '≥ 32 random bytes')
  t.equal(body.expires_at, new Date(expiresAt).toISOString())
  const noBody = await app.inject({ method: 'POST', url: `/admin/identities/${client.id}/secrets`, headers: { authorization: `Bearer ${admin}` } })
  t.equal(noBody.statusCode, 201, 'the body is optional')
  t.equal(noBody.json().expires_at, null)
  t.not(noBody.json().client_secret, body.client_secret, 'each secret is new')
  t.equal((await requestToken(app, client.clientId, body.client_secret)).statusCode, 200, 'the new secret works')

  const read = await adminCall(app, admin, 'GET', `/admin/identities/${client.id}`)
  t.notOk(read.body.includes(body.client_secret), 'never shown again')
  const stored = await app.tally.db.selectFrom('credentials').selectAll().where('id', '=', body.id).executeTakeFirstOrThrow()
  t.notOk(JSON.stringify({ ...stored, secret_hash: Buffer.from(stored.secret_hash as Uint8Array).toString('base64') }).includes(body.client_secret.slice(4)), 'stored as a hash only')

  const bad: Array<{ body: unknown, status: number, description: string, msg: string }> = [
    { body: { expires_at: 'tomorrow' }, status: 400, description: 'body/expires_at must match format "date-time"', msg: 'not a timestamp' },
    { body: { expires_at: '2000-01-01T00:00:00Z' }, status: 400, description: 'expires_at must be in the future', msg: 'in the past' },
    { body: { client_secret: 'tly_mine' }, status: 400, description: 'body/client_secret is not allowed', msg: 'a chosen secret is refused' }
  ]
  for (const c of bad) {
    const r = await adminCall(app, admin, 'POST', `/admin/identities/${client.id}/secrets`, c.body)
    t.equal(r.statusCode, c.status, c.msg)
    t.strictSame(r.json(), { error: 'invalid_request', error_description: c.description }, c.msg)
  }
  t.equal((await adminCall(app, admin, 'POST', '/admin/identities/nobody-at-all/secrets', {})).statusCode, 404, 'unknown identity')
})

t.test('POST /admin/identities/:id/keys accepts public EC P-256, Ed25519, RSA ≥ 2048; refuses private members', async (t) => {
  const client = await createClient(app, admin)
  const jwkOf = (type: 'ec' | 'ed25519' | 'rsa', opts: Record<string, unknown> = {}): Record<string, unknown> => {
    const { publicKey, privateKey } = generateKeyPairSync(type as any, opts as any) as any
    return { pub: publicKey.export({ format: 'jwk' }), priv: privateKey.export({ format: 'jwk' }) }
  }
  const ec = jwkOf('ec', { namedCurve: 'P-256' }) as any
  const ed = jwkOf('ed25519') as any
  const rsa = jwkOf('rsa', { modulusLength: 2048 }) as any
  const small = jwkOf('rsa', { modulusLength: 1024 }) as any

  const accepted: Array<{ jwk: Record<string, unknown>, kty: string, alg: string, msg: string }> = [
    { jwk: ec.pub, kty: 'EC', alg: 'ES256', msg: 'EC P-256' },
    { jwk: ed.pub, kty: 'OKP', alg: 'EdDSA', msg: 'Ed25519' },
    { jwk: rsa.pub, kty: 'RSA', alg: 'RS256', msg: 'RSA 2048' }
  ]
  for (const c of accepted) {
    const res = await adminCall(app, admin, 'POST', `/admin/identities/${client.id}/keys`, { jwk: c.jwk })
    t.equal(res.statusCode, 201, c.msg)
    const body = res.json()
    t.match(body.id, UUID, `${c.msg}: id`)
    t.equal(body.type, 'jwk', `${c.msg}: type`)
    t.equal(body.kty, c.kty, `${c.msg}: kty`)
    t.equal(body.alg, c.alg, `${c.msg}: alg`)
    t.equal(typeof body.kid, 'string', `${c.msg}: kid`)
    t.notOk('d' in body.jwk, `${c.msg}: stored jwk is public`)
  }

  const refused: Array<{ jwk: Record<string, unknown>, description: string, msg: string }> = [
    { jwk: ec.priv, description: 'jwk must be a public key: member "d" is not allowed', msg: 'EC private key' },
    { jwk: ed.priv, description: 'jwk must be a public key: member "d" is not allowed', msg: 'Ed25519 private key' },
    { jwk: rsa.priv, description: 'jwk must be a public key: member "d" is not allowed', msg: 'RSA private key' },
    { jwk: { kty: 'oct', k: 'c2VjcmV0' }, description: 'jwk must be a public key: member "k" is not allowed', msg: 'symmetric key' },
    { jwk: small.pub, description: 'jwk: RSA keys must be at least 2048 bits', msg: 'RSA 1024' },
    { jwk: { ...ec.pub, alg: 'RS256' }, description: 'jwk.alg RS256 does not fit the key type', msg: 'alg that does not fit' },
    { jwk: { ...ec.pub, alg: 'HS256' }, description: 'jwk.alg HS256 does not fit the key type', msg: 'HMAC alg' },
    { jwk: { ...ec.pub, use: 'enc' }, description: 'jwk.use must be "sig"', msg: 'encryption key' },
    { jwk: { ...ec.pub, x: 'AAAA' }, description: 'jwk is not a valid public key', msg: 'not a point' },
    { jwk: { kty: 'EC', crv: 'secp256k1', x: ec.pub.x, y: ec.pub.y }, description: 'jwk must be an EC (P-256, P-384, P-521), OKP (Ed25519) or RSA public key', msg: 'unsupported curve' }
  ]
  for (const c of refused) {
    const res = await adminCall(app, admin, 'POST', `/admin/identities/${client.id}/keys`, { jwk: c.jwk })
    t.equal(res.statusCode, 400, c.msg)
    t.strictSame(res.json(), { error: 'invalid_request', error_description: c.description }, c.msg)
  }
  const missing = await adminCall(app, admin, 'POST', `/admin/identities/${client.id}/keys`, {})
  t.strictSame(missing.json(), { error: 'invalid_request', error_description: "body must have required property 'jwk'" }, 'no jwk')

  const dup = await adminCall(app, admin, 'POST', `/admin/identities/${client.id}/keys`, { jwk: ec.pub })
  t.equal(dup.statusCode, 409, 'same kid twice')
  const read = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${client.id}`), 200)
  t.equal(read.credentials.filter((c: any) => c.type === 'jwk').length, 3, 'three keys registered')
  const rows = await app.tally.db.selectFrom('credentials').select('jwk').where('identity_id', '=', client.id).where('type', '=', 'jwk').execute()
  t.ok(rows.every((r) => !JSON.stringify(r.jwk).includes('"d"')), 'no private member stored')
})

t.test('each creation answers the credential as GET /admin/identities/:id lists it, last_used_at null until used', async (t) => {
  const { identifier: resource } = await createResource(app, admin)
  const client = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const issuer = `https://${uniqueId('platform')}.example.test`
  expectStatus(await adminCall(app, admin, 'POST', '/admin/trusts', { issuer }))
  const secret = expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${client.id}/secrets`, {}))
  const key = expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${client.id}/keys`, { jwk: publicKey.export({ format: 'jwk' }) }))
  const federated = expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${client.id}/federated`, { issuer, subject: 'repo:acme/app' }))
  t.strictSame(
    [Object.keys(secret).sort(), Object.keys(key).sort(), Object.keys(federated).sort()],
    [
      ['client_secret', 'created_at', 'expires_at', 'id', 'last_used_at', 'prefix', 'revoked_at', 'type'],
      ['alg', 'created_at', 'expires_at', 'id', 'jwk', 'kid', 'kty', 'last_used_at', 'revoked_at', 'type'],
      ['created_at', 'expires_at', 'id', 'issuer', 'last_used_at', 'match', 'revoked_at', 'subject', 'type']
    ],
    'the exact keys of each answer'
  )
  const { client_secret: shownOnce, ...secretView } = secret
  const { jwk, ...keyView } = key
  const listed = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${client.id}`), 200).credentials
  t.strictSame(listed.slice(1), [secretView, keyView, federated], 'the same objects as listed, beside the secret (once) and the stored jwk')
  t.strictSame([secretView.last_used_at, keyView.last_used_at, federated.last_used_at], [null, null, null], 'unused so far')

  t.equal((await requestToken(app, client.clientId, shownOnce)).statusCode, 200)
  const used = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${client.id}`), 200).credentials
  t.match(used.find((c: any) => c.id === secret.id).last_used_at, RFC3339, 'the field the creation answer gave as null is the last use')
  t.equal(typeof jwk.x, 'string', 'the key answer also carries the public jwk')
})

t.test('DELETE /admin/identities/:id/credentials/:cid → 204, bumps once', async (t) => {
  const { identifier: resource } = await createResource(app, admin)
  const client = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const second = expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${client.id}/secrets`, {}))
  const res = await adminCall(app, admin, 'DELETE', `/admin/identities/${client.clientId}/credentials/${client.secretId}`)
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal(await epochOf(app, client.id), 2, 'revoking a credential bumps')
  assertInvalidClient(t, await requestToken(app, client.clientId, client.secret), 'revoked secret')
  t.equal((await requestToken(app, client.clientId, second.client_secret)).statusCode, 200, 'the other secret still works')
  const again = await adminCall(app, admin, 'DELETE', `/admin/identities/${client.id}/credentials/${client.secretId}`)
  t.equal(again.statusCode, 204, 'revoking again is a no-op')
  t.equal(await epochOf(app, client.id), 2, 'and does not bump again')
  const read = expectStatus(await adminCall(app, admin, 'GET', `/admin/identities/${client.id}`), 200)
  t.match(read.credentials.find((c: any) => c.id === client.secretId).revoked_at, RFC3339, 'revoked_at shown')
  t.strictSame((await epochEvents(app, client.id)).map((e) => [e.epoch, e.reason]), [[2, 'credential_revoked']])

  const other = await createClient(app, admin)
  const cases: Array<{ url: string, status: number, msg: string }> = [
    { url: `/admin/identities/${client.id}/credentials/${other.secretId}`, status: 404, msg: "another identity's credential" },
    { url: `/admin/identities/${client.id}/credentials/00000000-0000-4000-8000-000000000000`, status: 404, msg: 'unknown credential' },
    { url: `/admin/identities/${client.id}/credentials/not-a-uuid`, status: 400, msg: 'malformed credential id' },
    { url: `/admin/identities/nobody-at-all/credentials/${client.secretId}`, status: 404, msg: 'unknown identity' }
  ]
  for (const c of cases) t.equal((await adminCall(app, admin, 'DELETE', c.url)).statusCode, c.status, c.msg)
  t.equal((await requestToken(app, other.clientId, other.secret)).statusCode, 400, 'the other identity keeps its secret (400: it has no entitlement)')
})
