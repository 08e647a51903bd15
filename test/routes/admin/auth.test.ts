// The admin API's guard (docs/reference/admin-api.md): Tally's own tokens for urn:tally:admin, checked as strictly as
// /introspect. RFC 6750 §3.1: no or inactive token → 401 invalid_token; a missing scope → 403.
import t from '../../support/tap.js'
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { adminCall, adminToken, ADMIN_SECRET, basic, build, decodePayload, encodeSegment, form, FORM_TYPE, ISSUER, requestToken } from '../../helper.js'
import { createClient, createResource, expectStatus, type TestClient } from '../../support/admin.js'
import { assertNoStore, tokenFor } from '../../support/oauth.js'
import { signJwt } from '../../../server/keys/keystore.js'
import { tokenDigest } from '../../../server/keys/crypto.js'

const app = await build(t)
const admin = await adminToken(app)
const ADMIN_SCOPES = ['admin:read', 'admin:write', 'admin:revoke']
const INACTIVE = { error: 'invalid_token', error_description: 'the access token is not active' }
const INACTIVE_CHALLENGE = `Bearer realm="${ISSUER}", error="invalid_token", error_description="the access token is not active"`

/** A second admin identity, so that revoking or narrowing it does not touch the file's bootstrap admin token. */
async function createAdmin (scopes = ADMIN_SCOPES): Promise<TestClient> {
  return await createClient(app, admin, { kind: 'admin', entitlements: [{ resource: 'urn:tally:admin', scopes }] })
}

/** An admin API token of `client`. */
async function adminTokenOf (client: TestClient, scope?: string): Promise<string> {
  return await tokenFor(app, client, { resource: 'urn:tally:admin', ...(scope !== undefined && { scope }) })
}

async function callWith (target: FastifyInstance, authorization: string | undefined): Promise<Awaited<ReturnType<FastifyInstance['inject']>>> {
  return await target.inject({ method: 'GET', url: '/admin/identities', headers: authorization === undefined ? {} : { authorization } })
}

/** A token Tally signed and recorded, whose exp has passed: minted with the instance's own key. */
async function expiredAdminToken (): Promise<string> {
  const live = decodePayload(await adminToken(app))
  const now = Math.floor(Date.now() / 1000)
  const claims = { ...live, iat: now - 900, exp: now - 600, jti: randomUUID() }
  const key = app.tally.keys.signingKey()
  const token = signJwt(key, { typ: 'at+jwt' }, claims)
  const resource = await app.tally.db.selectFrom('resources').select('id').where('identifier', '=', 'urn:tally:admin').executeTakeFirstOrThrow()
  await app.tally.db.insertInto('sessions').values({
    jti: claims.jti, identity_id: live.sub, epoch: live.epoch, resource_id: resource.id, scope: live.scope,
    iat: new Date(claims.iat * 1000), exp: new Date(claims.exp * 1000), credential_id: null, token_hash: tokenDigest(token), kid: key.kid
  }).execute()
  return token
}

t.test('401 invalid_token without a token, or with one that is not an active admin token', async (t) => {
  const { identifier: resource } = await createResource(app, admin)
  const service = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const serviceToken = await tokenFor(app, service)

  const revoked = await createAdmin()
  const revokedToken = await adminTokenOf(revoked)
  const rv = await app.inject({ method: 'POST', url: '/revoke', headers: { authorization: basic(revoked.clientId, revoked.secret), 'content-type': FORM_TYPE }, payload: form({ token: revokedToken }) })
  t.equal(rv.statusCode, 200, 'the admin revokes its own token')

  const stale = await createAdmin()
  const staleToken = await adminTokenOf(stale)
  expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${stale.id}/revoke-sessions`, {}), 200)

  const disabled = await createAdmin()
  const disabledToken = await adminTokenOf(disabled)
  expectStatus(await adminCall(app, admin, 'PATCH', `/admin/identities/${disabled.id}`, { status: 'disabled' }), 200)

  const deleted = await createAdmin()
  const deletedToken = await adminTokenOf(deleted)
  expectStatus(await adminCall(app, admin, 'DELETE', `/admin/identities/${deleted.id}`), 204)

  const readOnly = await adminToken(app, 'admin:read')
  const [h, p, s] = readOnly.split('.') as [string, string, string]
  const widened = encodeSegment({ ...decodePayload(readOnly), scope: 'admin:read admin:write admin:revoke' })
  const otherSig = (s.startsWith('A') ? 'B' : 'A') + s.slice(1)

  const missing = { error: 'invalid_token', error_description: 'a bearer token for urn:tally:admin is required' }
  const cases: Array<{ authorization: string | undefined, body: unknown, msg: string }> = [
    { authorization: undefined, body: missing, msg: 'no Authorization header' },
    { authorization: 'Bearer', body: missing, msg: 'Bearer without a token' },
    { authorization: basic('admin', ADMIN_SECRET), body: missing, msg: 'Basic credentials of the admin' },
    { authorization: `Token ${admin}`, body: missing, msg: 'another scheme' },
    { authorization: 'Bearer not-a-jwt', body: INACTIVE, msg: 'a string that is not a JWT' },
    { authorization: `Bearer ${h}.${widened}.${s}`, body: INACTIVE, msg: 'a token whose payload was altered' },
    { authorization: `Bearer ${h}.${p}.${otherSig}`, body: INACTIVE, msg: 'a token whose signature was altered' },
    { authorization: `Bearer ${serviceToken}`, body: INACTIVE, msg: 'an active token for another resource' },
    { authorization: `Bearer ${await expiredAdminToken()}`, body: INACTIVE, msg: 'an expired admin token' },
    { authorization: `Bearer ${revokedToken}`, body: INACTIVE, msg: 'a revoked admin token' },
    { authorization: `Bearer ${staleToken}`, body: INACTIVE, msg: 'an admin token made stale by revoke-sessions' },
    { authorization: `Bearer ${disabledToken}`, body: INACTIVE, msg: 'the token of a disabled admin' },
    { authorization: `Bearer ${deletedToken}`, body: INACTIVE, msg: 'the token of a deleted admin' }
  ]
  for (const c of cases) {
    const res = await callWith(app, c.authorization)
    t.equal(res.statusCode, 401, c.msg)
    t.strictSame(res.json(), c.body, c.msg)
    const description = (c.body as { error_description: string }).error_description
    // RFC 6750 §3.1: a request with no bearer token gets a challenge without an error code.
    const challenge = c.body === missing ? `Bearer realm="${ISSUER}"` : `Bearer realm="${ISSUER}", error="invalid_token", error_description="${description}"`
    t.equal(res.headers['www-authenticate'], challenge, `${c.msg}: WWW-Authenticate`)
    assertNoStore(t, res, c.msg)
  }
  t.equal((await callWith(app, `Bearer ${admin}`)).statusCode, 200, 'the bootstrap admin token still works')
})

t.test('403 insufficient_scope when the token lacks the scope the endpoint needs', async (t) => {
  const target = await createClient(app, admin)
  const readOnly = await adminToken(app, 'admin:read')
  const writeOnly = await adminToken(app, 'admin:write')
  const readWrite = await adminToken(app, 'admin:read admin:write')
  const cases: Array<{ token: string, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, scope: string, msg: string }> = [
    { token: readOnly, method: 'POST', url: '/admin/resources', body: { identifier: 'https://x.example.test', scopes: ['a'] }, scope: 'admin:write', msg: 'create a resource with admin:read' },
    { token: readOnly, method: 'PATCH', url: `/admin/resources/${encodeURIComponent('urn:tally:admin')}`, body: { name: 'x' }, scope: 'admin:write', msg: 'patch a resource with admin:read' },
    { token: readOnly, method: 'POST', url: '/admin/identities', body: { client_id: 'nope-403', kind: 'agent' }, scope: 'admin:write', msg: 'create an identity with admin:read' },
    { token: readOnly, method: 'PATCH', url: `/admin/identities/${target.id}`, body: { status: 'disabled' }, scope: 'admin:write', msg: 'disable with admin:read' },
    { token: readOnly, method: 'DELETE', url: `/admin/identities/${target.id}`, scope: 'admin:write', msg: 'delete with admin:read' },
    { token: readOnly, method: 'POST', url: `/admin/identities/${target.id}/secrets`, body: {}, scope: 'admin:write', msg: 'new secret with admin:read' },
    { token: readOnly, method: 'DELETE', url: `/admin/identities/${target.id}/credentials/${target.secretId}`, scope: 'admin:write', msg: 'revoke a credential with admin:read' },
    { token: readOnly, method: 'PUT', url: `/admin/identities/${target.id}/entitlements`, body: [], scope: 'admin:write', msg: 'replace entitlements with admin:read' },
    { token: readOnly, method: 'POST', url: `/admin/identities/${target.id}/revoke-sessions`, body: {}, scope: 'admin:revoke', msg: 'revoke sessions with admin:read' },
    { token: readWrite, method: 'POST', url: `/admin/identities/${target.id}/revoke-sessions`, body: {}, scope: 'admin:revoke', msg: 'revoke sessions with admin:read admin:write' },
    { token: writeOnly, method: 'GET', url: '/admin/identities', scope: 'admin:read', msg: 'list identities with admin:write' },
    { token: writeOnly, method: 'GET', url: `/admin/identities/${target.id}`, scope: 'admin:read', msg: 'read an identity with admin:write' },
    { token: writeOnly, method: 'GET', url: '/admin/resources', scope: 'admin:read', msg: 'list resources with admin:write' },
    { token: writeOnly, method: 'GET', url: '/admin/audit', scope: 'admin:read', msg: 'read the audit log with admin:write' },
    { token: writeOnly, method: 'GET', url: `/admin/identities/${target.id}/sessions`, scope: 'admin:read', msg: 'list sessions with admin:write' }
  ]
  for (const c of cases) {
    const res = await adminCall(app, c.token, c.method, c.url, c.body)
    t.equal(res.statusCode, 403, c.msg)
    t.strictSame(res.json(), { error: 'insufficient_scope', error_description: `the request requires scope ${c.scope}` }, c.msg)
    t.equal(res.headers['www-authenticate'], `Bearer realm="${ISSUER}", error="insufficient_scope", error_description="the request requires scope ${c.scope}"`, `${c.msg}: WWW-Authenticate`)
    assertNoStore(t, res, c.msg)
  }
  const read = await adminCall(app, readOnly, 'GET', `/admin/identities/${target.id}`)
  t.equal(read.statusCode, 200, 'admin:read reads')
  t.equal(read.json().status, 'active', 'nothing above changed the identity')
  t.equal(read.json().epoch, 1, 'nor bumped it')
})

t.test('narrowing an admin\'s own entitlements stops its current token at its next request', async (t) => {
  const ops = await createAdmin()
  const token = await adminTokenOf(ops)
  t.equal((await adminCall(app, token, 'GET', '/admin/identities?limit=1')).statusCode, 200, 'works before')
  const put = await adminCall(app, token, 'PUT', `/admin/identities/${ops.id}/entitlements`, [{ resource: 'urn:tally:admin', scopes: ['admin:read'] }])
  t.equal(put.statusCode, 200, 'the admin narrows itself with its own token')
  t.equal(put.json().epoch, 2, 'the change bumps its epoch')
  const after = await adminCall(app, token, 'GET', '/admin/identities?limit=1')
  t.equal(after.statusCode, 401, 'the same token is refused at its next request')
  t.strictSame(after.json(), INACTIVE)
  t.equal(after.headers['www-authenticate'], INACTIVE_CHALLENGE)

  const fresh = await adminTokenOf(ops)
  t.equal(decodePayload(fresh).scope, 'admin:read', 'a new token carries only what is left')
  t.equal((await adminCall(app, fresh, 'GET', '/admin/identities?limit=1')).statusCode, 200, 'and reads')
  t.equal((await adminCall(app, fresh, 'POST', '/admin/identities', { client_id: 'nope-narrowed', kind: 'agent' })).statusCode, 403, 'but cannot write')

  // Narrowed by another admin: same effect.
  const other = await createAdmin()
  const otherToken = await adminTokenOf(other)
  expectStatus(await adminCall(app, admin, 'PUT', `/admin/identities/${other.id}/entitlements`, [{ resource: 'urn:tally:admin', scopes: ['admin:read', 'admin:write'] }]), 200)
  t.equal((await adminCall(app, otherToken, 'GET', '/admin/identities?limit=1')).statusCode, 401, 'narrowed by someone else')
})

t.test('an addition to an admin\'s entitlements keeps its current token working', async (t) => {
  const ops = await createAdmin(['admin:read'])
  const token = await adminTokenOf(ops)
  expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${ops.id}/entitlements`, { resource: 'urn:tally:admin', scopes: ['admin:write'] }))
  t.equal((await adminCall(app, token, 'GET', '/admin/identities?limit=1')).statusCode, 200, 'old token still active')
  t.equal((await adminCall(app, token, 'POST', '/admin/identities', { client_id: 'nope-added', kind: 'agent' })).statusCode, 403, 'old token does not gain the new scope')
  const fresh = await adminTokenOf(ops)
  t.equal(decodePayload(fresh).scope, 'admin:read admin:write', 'the next token carries the addition')
})
