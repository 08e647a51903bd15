// POST /token (docs/reference/endpoints.md): RFC 6749 §4.4 client credentials with RFC 8707 resource indicators, RFC 9068
// access tokens, and every error path. One app and one database for the whole file.
import t from '../support/tap.js'
import { createLocalJWKSet, jwtVerify } from 'jose'
import type { FastifyInstance } from 'fastify'
import { adminCall, adminToken, basic, build, decodeHeader, decodePayload, form, FORM_TYPE, ISSUER, requestToken, uniqueId } from '../helper.js'
import { createClient, createResource, epochOf, expectStatus, inSeconds, type TestClient } from '../support/admin.js'
import { assertInvalidClient, assertNoStore } from '../support/oauth.js'

const root = t
const app = await build(root)
const admin = await adminToken(app)
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

async function postToken (target: FastifyInstance, headers: Record<string, string>, payload: string): Promise<Awaited<ReturnType<FastifyInstance['inject']>>> {
  return await target.inject({ method: 'POST', url: '/token', headers, payload })
}

async function jwks (): Promise<{ keys: Array<Record<string, unknown>> }> {
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  return res.json()
}

async function resourceId (identifier: string): Promise<string> {
  return (await app.tally.db.selectFrom('resources').select('id').where('identifier', '=', identifier).executeTakeFirstOrThrow()).id
}

t.test('success: exact response, RFC 9068 header and claims, session recorded', async (t) => {
  const { identifier: resource } = await createResource(app, admin, { scopes: ['read', 'write', 'delete'] })
  const expiresAt = inSeconds(7200)
  const client = await createClient(app, admin, {
    entitlements: [{ resource, scopes: ['read', 'write'], conditions: { environment: 'staging' }, expires_at: expiresAt, reason: 'ci' }]
  })
  const res = await requestToken(app, client.clientId, client.secret, { resource, scope: 'read' })
  t.equal(res.statusCode, 200)
  assertNoStore(t, res)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json()
  t.strictSame(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type'], 'exactly these members, no refresh_token')
  t.equal(body.token_type, 'Bearer')
  t.equal(body.expires_in, 300, 'TOKEN_TTL_DEFAULT_S')
  t.equal(body.scope, 'read')

  const header = decodeHeader(body.access_token)
  t.strictSame(header, { typ: 'at+jwt', alg: 'ES256', kid: header.kid }, 'header is typ, alg, kid')
  const keySet = await jwks()
  t.ok(keySet.keys.some((k) => k.kid === header.kid), 'kid is in the JWKS')

  const claims = decodePayload(body.access_token)
  t.match(claims.jti, UUID)
  t.strictSame(claims, {
    iss: ISSUER,
    sub: client.id,
    client_id: client.clientId,
    aud: resource,
    iat: claims.iat,
    exp: claims.iat + 300,
    jti: claims.jti,
    scope: 'read',
    epoch: 1,
    entitlements: [{ resource, scopes: ['read'], conditions: { environment: 'staging' }, expires_at: Date.parse(expiresAt) / 1000 }]
  })
  t.ok(Math.abs(claims.iat - Date.now() / 1000) < 5, 'iat is now')

  const verified = await jwtVerify(body.access_token, createLocalJWKSet(keySet as any), { issuer: ISSUER, audience: resource, typ: 'at+jwt', algorithms: ['ES256'] })
  t.equal(verified.payload.sub, client.id, 'signature verifies against the JWKS')

  const session = await app.tally.db.selectFrom('sessions').selectAll().where('jti', '=', claims.jti).executeTakeFirst()
  t.ok(session, 'session row exists once the response is sent')
  t.strictSame({
    identity_id: session?.identity_id,
    epoch: session?.epoch,
    resource_id: session?.resource_id,
    scope: session?.scope,
    iat: session?.iat.getTime(),
    exp: session?.exp.getTime(),
    credential_id: session?.credential_id,
    kid: session?.kid,
    revoked_at: session?.revoked_at
  }, {
    identity_id: client.id,
    epoch: 1,
    resource_id: await resourceId(resource),
    scope: 'read',
    iat: claims.iat * 1000,
    exp: claims.exp * 1000,
    credential_id: client.secretId,
    kid: header.kid,
    revoked_at: null
  })
})

t.test('entitlements claim: one object per entitlement used, conditions and expires_at only when set', async (t) => {
  const { identifier: resource } = await createResource(app, admin, { scopes: ['read', 'write', 'audit'] })
  const expiresAt = inSeconds(3600)
  const client = await createClient(app, admin, {
    entitlements: [
      { resource, scopes: ['read'], conditions: { environment: 'prod', tier: 2, break_glass: false } },
      { resource, scopes: ['write'], expires_at: expiresAt },
      { resource, scopes: ['audit'] }
    ]
  })
  const cases: Array<{ scope?: string, entitlements: unknown[], granted: string, msg: string }> = [
    {
      entitlements: [
        { resource, scopes: ['read'], conditions: { environment: 'prod', tier: 2, break_glass: false } },
        { resource, scopes: ['write'], expires_at: Date.parse(expiresAt) / 1000 },
        { resource, scopes: ['audit'] }
      ],
      granted: 'read write audit',
      msg: 'no scope: every entitled scope, every entitlement'
    },
    { scope: 'audit', entitlements: [{ resource, scopes: ['audit'] }], granted: 'audit', msg: 'only the entitlement backing the scope' },
    {
      scope: 'write read',
      entitlements: [
        { resource, scopes: ['read'], conditions: { environment: 'prod', tier: 2, break_glass: false } },
        { resource, scopes: ['write'], expires_at: Date.parse(expiresAt) / 1000 }
      ],
      granted: 'write read',
      msg: 'two of three'
    }
  ]
  for (const c of cases) {
    const res = await requestToken(app, client.clientId, client.secret, c.scope === undefined ? {} : { scope: c.scope })
    t.equal(res.statusCode, 200, c.msg)
    const claims = decodePayload(res.json().access_token)
    t.strictSame(claims.entitlements, c.entitlements, c.msg)
    t.strictSame(claims.scope.split(' ').sort(), c.granted.split(' ').sort(), `${c.msg}: scope claim`)
    t.equal(res.json().scope, claims.scope, `${c.msg}: response scope = claim`)
  }
})

t.test('client_secret_post authenticates', async (t) => {
  const { identifier: resource } = await createResource(app, admin)
  const client = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const res = await postToken(app, { 'content-type': FORM_TYPE },
    form({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.secret }))
  t.equal(res.statusCode, 200)
  assertNoStore(t, res)
  const claims = decodePayload(res.json().access_token)
  t.equal(claims.sub, client.id)
  t.equal(claims.aud, resource)
  const session = await app.tally.db.selectFrom('sessions').select('credential_id').where('jti', '=', claims.jti).executeTakeFirst()
  t.equal(session?.credential_id, client.secretId, 'session records the credential used')
})

t.test('Basic credentials: a ":" in client_id travels as %3A, or raw (split at the last ":")', async (t) => {
  const { identifier: resource } = await createResource(app, admin)
  const clientId = `ns:${uniqueId('svc')}:x.y_z`
  const client = await createClient(app, admin, { clientId, entitlements: [{ resource, scopes: ['read'] }] })
  const authorization = basic(clientId, client.secret)
  t.match(Buffer.from(authorization.slice(6), 'base64').toString(), /^ns%3A/, 'the test sends %3A')
  const res = await postToken(app, { authorization, 'content-type': FORM_TYPE }, form({ grant_type: 'client_credentials' }))
  t.equal(res.statusCode, 200)
  t.equal(decodePayload(res.json().access_token).client_id, clientId)

  // Unencoded (authlib, Python requests): secrets never hold a ":", so the last one ends the client_id (docs/reference/endpoints.md).
  const raw = 'Basic ' + Buffer.from(`${clientId}:${client.secret}`).toString('base64')
  const rawRes = await postToken(app, { authorization: raw, 'content-type': FORM_TYPE }, form({ grant_type: 'client_credentials' }))
  t.equal(rawRes.statusCode, 200, 'raw colons: 200')
  t.equal(decodePayload(rawRes.json().access_token).client_id, clientId, 'raw colons: the same client')
  // client_secret_post carries the client_id as a form value: the colon is just a character there.
  const post = await postToken(app, { 'content-type': FORM_TYPE }, form({ grant_type: 'client_credentials', client_id: clientId, client_secret: client.secret }))
  t.equal(post.statusCode, 200, 'client_secret_post with a colon')
})

t.test('resource selection (RFC 8707, one audience per token)', async (t) => {
  const { identifier: r1 } = await createResource(app, admin)
  const { identifier: r2 } = await createResource(app, admin)
  const { identifier: r3 } = await createResource(app, admin)
  const one = await createClient(app, admin, { entitlements: [{ resource: r1, scopes: ['read'] }] })
  const two = await createClient(app, admin, { entitlements: [{ resource: r1, scopes: ['read'] }, { resource: r2, scopes: ['write'] }] })
  const none = await createClient(app, admin)
  const expired = await createClient(app, admin)
  // An entitlement that has already expired grants nothing: inserted directly, as the API refuses a past expires_at.
  await app.tally.db.insertInto('entitlements').values({
    identity_id: expired.id, resource_id: await resourceId(r1), scopes: ['read'], expires_at: new Date(Date.now() - 60_000)
  }).execute()

  const ok: Array<{ client: TestClient, params: Record<string, string | string[]>, aud: string, scope: string, msg: string }> = [
    { client: one, params: {}, aud: r1, scope: 'read', msg: 'the only entitled resource is used without resource' },
    { client: two, params: { resource: r2 }, aud: r2, scope: 'write', msg: 'resource picks one of several' },
    { client: two, params: { audience: r1 }, aud: r1, scope: 'read', msg: 'audience is an alias of resource' },
    { client: two, params: { resource: r1, audience: r1 }, aud: r1, scope: 'read', msg: 'resource and audience that agree' }
  ]
  for (const c of ok) {
    const res = await requestToken(app, c.client.clientId, c.client.secret, c.params)
    t.equal(res.statusCode, 200, c.msg)
    const claims = decodePayload(res.json().access_token)
    t.equal(claims.aud, c.aud, `${c.msg}: aud`)
    t.equal(claims.scope, c.scope, `${c.msg}: scope`)
  }

  const bad: Array<{ client: TestClient, params: Record<string, string | string[]>, description: string, msg: string }> = [
    { client: two, params: {}, description: 'resource is required: the client is entitled to several resources', msg: 'several entitled resources, none requested' },
    { client: none, params: {}, description: 'the client holds no entitlements', msg: 'no entitlement at all' },
    { client: expired, params: {}, description: 'the client holds no entitlements', msg: 'only an expired entitlement' },
    { client: expired, params: { resource: r1 }, description: 'the client is not entitled to the requested resource', msg: 'resource of an expired entitlement' },
    { client: none, params: { resource: r1 }, description: 'the client is not entitled to the requested resource', msg: 'no entitlement, resource given' },
    { client: two, params: { resource: r3 }, description: 'the client is not entitled to the requested resource', msg: 'a resource it is not entitled to' },
    { client: two, params: { resource: 'https://unknown.example.test' }, description: 'the client is not entitled to the requested resource', msg: 'an unknown resource' },
    { client: two, params: { resource: [r1, r2] }, description: 'only one resource may be requested per token', msg: 'two resource values' },
    { client: one, params: { resource: [r1, r3] }, description: 'only one resource may be requested per token', msg: 'two resource values, one entitled' },
    { client: two, params: { resource: r1, audience: r2 }, description: 'only one resource may be requested per token', msg: 'resource and audience differ' },
    { client: two, params: { audience: r3 }, description: 'the client is not entitled to the requested resource', msg: 'audience not entitled' }
  ]
  for (const c of bad) {
    const res = await requestToken(app, c.client.clientId, c.client.secret, c.params)
    t.equal(res.statusCode, 400, c.msg)
    t.strictSame(res.json(), { error: 'invalid_target', error_description: c.description }, c.msg)
    assertNoStore(t, res, c.msg)
  }
})

t.test('scope: a subset of the entitled scopes; none → all of them; anything else → invalid_scope', async (t) => {
  const { identifier: resource } = await createResource(app, admin, { scopes: ['read', 'write', 'admin'] })
  const client = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read', 'write'] }] })
  const ok: Array<{ scope: string | undefined, granted: string, msg: string }> = [
    { scope: undefined, granted: 'read write', msg: 'no scope: all entitled scopes' },
    { scope: '', granted: 'read write', msg: 'empty scope is treated as omitted (RFC 6749 §3.1)' },
    { scope: 'read', granted: 'read', msg: 'one scope' },
    { scope: 'write', granted: 'write', msg: 'the other scope' },
    { scope: 'read write', granted: 'read write', msg: 'both' },
    { scope: 'read  read', granted: 'read', msg: 'repeated scope token collapses' }
  ]
  for (const c of ok) {
    const res = await requestToken(app, client.clientId, client.secret, c.scope === undefined ? {} : { scope: c.scope })
    t.equal(res.statusCode, 200, c.msg)
    t.equal(res.json().scope, c.granted, c.msg)
    t.equal(decodePayload(res.json().access_token).scope, c.granted, `${c.msg}: claim`)
  }
  const bad: Array<{ scope: string, description: string, msg: string }> = [
    { scope: 'admin', description: 'requested scope is not allowed', msg: 'a scope of the resource it is not entitled to' },
    { scope: 'unknown', description: 'requested scope is not allowed', msg: 'a scope the resource does not define' },
    { scope: 'read unknown', description: 'requested scope is not allowed', msg: 'one good, one bad' },
    { scope: 'READ', description: 'requested scope is not allowed', msg: 'scopes are case-sensitive' },
    { scope: 'read "write"', description: 'scope is malformed', msg: 'a quote is not a scope-token character' }
  ]
  for (const c of bad) {
    const res = await requestToken(app, client.clientId, client.secret, { scope: c.scope })
    t.equal(res.statusCode, 400, c.msg)
    t.strictSame(res.json(), { error: 'invalid_scope', error_description: c.description }, c.msg)
  }
})

t.test('lifetime = min(identity token_ttl_s or default, resource max_token_ttl_s, TOKEN_TTL_MAX_S)', async (t) => {
  const { identifier: open } = await createResource(app, admin, { scopes: ['read'] })
  const { identifier: capped } = await createResource(app, admin, { scopes: ['read'], max_token_ttl_s: 120 })
  const cases: Array<{ ttl?: number, resource: string, expected: number, msg: string }> = [
    { resource: open, expected: 300, msg: 'default TOKEN_TTL_DEFAULT_S' },
    { ttl: 60, resource: open, expected: 60, msg: 'identity token_ttl_s below the default' },
    { ttl: 1000, resource: open, expected: 1000, msg: 'identity token_ttl_s above the default' },
    { ttl: 1000, resource: capped, expected: 120, msg: 'resource max_token_ttl_s caps the identity ttl' },
    { resource: capped, expected: 120, msg: 'resource max_token_ttl_s caps the default' },
    { ttl: 30, resource: capped, expected: 30, msg: 'identity ttl below the resource cap' },
    { ttl: 7200, resource: open, expected: 3600, msg: 'TOKEN_TTL_MAX_S caps the identity ttl' }
  ]
  for (const c of cases) {
    const client = await createClient(app, admin, { ...(c.ttl !== undefined && { token_ttl_s: c.ttl }), entitlements: [{ resource: c.resource, scopes: ['read'] }] })
    const res = await requestToken(app, client.clientId, client.secret)
    t.equal(res.statusCode, 200, c.msg)
    t.equal(res.json().expires_in, c.expected, c.msg)
    const claims = decodePayload(res.json().access_token)
    t.equal(claims.exp - claims.iat, c.expected, `${c.msg}: exp - iat`)
  }

  // A second instance on the file's database with other limits.
  const other = await build(root, { TOKEN_TTL_DEFAULT_S: '100', TOKEN_TTL_MAX_S: '200' })
  const configured: Array<{ ttl?: number, resource: string, expected: number, msg: string }> = [
    { resource: open, expected: 100, msg: 'configured TOKEN_TTL_DEFAULT_S' },
    { ttl: 1000, resource: open, expected: 200, msg: 'configured TOKEN_TTL_MAX_S caps the identity ttl' },
    { ttl: 1000, resource: capped, expected: 120, msg: 'resource cap below TOKEN_TTL_MAX_S' }
  ]
  for (const c of configured) {
    const client = await createClient(app, admin, { ...(c.ttl !== undefined && { token_ttl_s: c.ttl }), entitlements: [{ resource: c.resource, scopes: ['read'] }] })
    const res = await requestToken(other, client.clientId, client.secret)
    t.equal(res.statusCode, 200, c.msg)
    t.equal(res.json().expires_in, c.expected, c.msg)
  }
})

t.test('lifetime never passes the earliest expires_at of an entitlement the token carries', async (t) => {
  const { identifier: resource } = await createResource(app, admin, { scopes: ['read', 'write'] })
  const soon = inSeconds(90)
  const later = inSeconds(200)
  const client = await createClient(app, admin, {
    token_ttl_s: 1000,
    entitlements: [{ resource, scopes: ['read'], expires_at: soon }, { resource, scopes: ['write'], expires_at: later }]
  })
  const cases: Array<{ scope: string | undefined, exp: number, msg: string }> = [
    { scope: undefined, exp: Date.parse(soon) / 1000, msg: 'both carried: the earliest wins' },
    { scope: 'read', exp: Date.parse(soon) / 1000, msg: 'only the soon one carried' },
    { scope: 'write', exp: Date.parse(later) / 1000, msg: 'only the later one carried: the soon one does not cap it' }
  ]
  for (const c of cases) {
    const res = await requestToken(app, client.clientId, client.secret, c.scope === undefined ? {} : { scope: c.scope })
    t.equal(res.statusCode, 200, c.msg)
    const claims = decodePayload(res.json().access_token)
    t.equal(claims.exp, c.exp, `${c.msg}: exp`)
    t.equal(res.json().expires_in, claims.exp - claims.iat, `${c.msg}: expires_in = exp - iat`)
    const session = await app.tally.db.selectFrom('sessions').select('exp').where('jti', '=', claims.jti).executeTakeFirstOrThrow()
    t.equal(session.exp.getTime(), c.exp * 1000, `${c.msg}: session exp`)
  }
  // An entitlement without expiry does not cap: a long ttl identity on a never-expiring entitlement gets it all.
  const forever = await createClient(app, admin, { token_ttl_s: 1000, entitlements: [{ resource, scopes: ['read'] }] })
  t.equal((await requestToken(app, forever.clientId, forever.secret)).json().expires_in, 1000, 'no expires_at, no cap')
})

t.test('grant_type: missing → invalid_request, unknown → unsupported_grant_type after authentication', async (t) => {
  const { identifier: resource } = await createResource(app, admin)
  const client = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const headers = { authorization: basic(client.clientId, client.secret), 'content-type': FORM_TYPE }
  const missing = await postToken(app, headers, form({ scope: 'read' }))
  t.equal(missing.statusCode, 400)
  t.strictSame(missing.json(), { error: 'invalid_request', error_description: 'grant_type is required' })
  assertNoStore(t, missing)

  for (const grantType of ['password', 'authorization_code', 'refresh_token', 'CLIENT_CREDENTIALS']) {
    const res = await postToken(app, headers, form({ grant_type: grantType }))
    t.equal(res.statusCode, 400, grantType)
    t.strictSame(res.json(), { error: 'unsupported_grant_type', error_description: 'grant_type is not supported' }, grantType)
    assertNoStore(t, res, grantType)
    const unauthenticated = await postToken(app, { authorization: basic(client.clientId, 'tly_wrong'), 'content-type': FORM_TYPE }, form({ grant_type: grantType }))
    assertInvalidClient(t, unauthenticated, `${grantType} with a wrong secret: authentication comes first`)
  }
})

t.test('content type: only application/x-www-form-urlencoded, matched case-insensitively', async (t) => {
  const { identifier: resource } = await createResource(app, admin)
  const client = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const authorization = basic(client.clientId, client.secret)
  const accepted = [
    'application/x-www-form-urlencoded',
    'Application/X-WWW-Form-URLEncoded',
    'APPLICATION/X-WWW-FORM-URLENCODED',
    'application/x-www-form-urlencoded; charset=UTF-8',
    'application/x-www-form-urlencoded;charset=utf-8'
  ]
  for (const type of accepted) {
    const res = await postToken(app, { authorization, 'content-type': type }, form({ grant_type: 'client_credentials' }))
    t.equal(res.statusCode, 200, type)
  }
  const refused: Array<{ headers: Record<string, string>, payload: string, description: string, msg: string }> = [
    { headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ grant_type: 'client_credentials' }), description: 'the request body must be application/x-www-form-urlencoded', msg: 'JSON' },
    { headers: { 'content-type': 'text/plain' }, payload: 'grant_type=client_credentials', description: 'the request body must be application/x-www-form-urlencoded', msg: 'text/plain' },
    { headers: { 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nclient_credentials\r\n--x--', description: 'unsupported content type', msg: 'multipart' },
    { headers: { 'content-type': 'application/x-www-form-urlencodedx' }, payload: 'grant_type=client_credentials', description: 'unsupported content type', msg: 'a longer media type that starts the same' },
    { headers: {}, payload: 'grant_type=client_credentials', description: 'unsupported content type', msg: 'no content type' },
    { headers: {}, payload: '', description: 'the request body must be application/x-www-form-urlencoded', msg: 'no content type, no body' }
  ]
  for (const c of refused) {
    const res = await postToken(app, { authorization, ...c.headers }, c.payload)
    t.equal(res.statusCode, 400, c.msg)
    t.strictSame(res.json(), { error: 'invalid_request', error_description: c.description }, c.msg)
    assertNoStore(t, res, c.msg)
  }
})

t.test('malformed bodies: duplicated parameters, oversized bodies', async (t) => {
  const { identifier: resource } = await createResource(app, admin)
  const client = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const headers = { authorization: basic(client.clientId, client.secret), 'content-type': FORM_TYPE }
  const cases: Array<{ payload: string, description: string, msg: string }> = [
    { payload: 'grant_type=client_credentials&grant_type=client_credentials', description: 'duplicate parameter: grant_type', msg: 'grant_type twice' },
    { payload: 'grant_type=client_credentials&scope=read&scope=read', description: 'duplicate parameter: scope', msg: 'scope twice' },
    { payload: `grant_type=client_credentials&audience=${encodeURIComponent(resource)}&audience=${encodeURIComponent(resource)}`, description: 'duplicate parameter: audience', msg: 'audience twice' },
    { payload: 'grant_type=client_credentials&scope=%ZZ', description: 'the request body is not valid form encoding', msg: 'bad percent-escape' }
  ]
  for (const c of cases) {
    const res = await postToken(app, headers, c.payload)
    t.equal(res.statusCode, 400, c.msg)
    t.strictSame(res.json(), { error: 'invalid_request', error_description: c.description }, c.msg)
  }
  const post = await postToken(app, { 'content-type': FORM_TYPE },
    `grant_type=client_credentials&client_id=${client.clientId}&client_id=${client.clientId}&client_secret=${client.secret}`)
  t.equal(post.statusCode, 400, 'client_id twice')
  t.strictSame(post.json(), { error: 'invalid_request', error_description: 'duplicate parameter: client_id' }, 'client_id twice')

  const big = await postToken(app, headers, form({ grant_type: 'client_credentials', padding: 'a'.repeat(65 * 1024) }))
  t.ok(big.statusCode === 413 || big.statusCode === 400, `body > 64 KiB: 413 or 400 (got ${big.statusCode})`)
  t.strictSame(big.json(), { error: 'invalid_request', error_description: 'the request body is too large' }, 'body > 64 KiB')
  assertNoStore(t, big, 'body > 64 KiB')
})

t.test('more than one client authentication method → 400 invalid_request', async (t) => {
  const { identifier: resource } = await createResource(app, admin)
  const client = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const authorization = basic(client.clientId, client.secret)
  const cases: Array<{ headers: Record<string, string>, params: Record<string, string>, msg: string }> = [
    { headers: { authorization }, params: { client_id: client.clientId, client_secret: client.secret }, msg: 'Basic and client_secret_post' },
    {
      headers: { authorization },
      params: { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: 'a.b.c' },
      msg: 'Basic and client_assertion'
    },
    {
      headers: {},
      params: { client_id: client.clientId, client_secret: client.secret, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: 'a.b.c' },
      msg: 'client_secret_post and client_assertion'
    }
  ]
  for (const c of cases) {
    const res = await postToken(app, { ...c.headers, 'content-type': FORM_TYPE }, form({ grant_type: 'client_credentials', ...c.params }))
    t.equal(res.statusCode, 400, c.msg)
    t.strictSame(res.json(), { error: 'invalid_request', error_description: 'only one client authentication method may be used' }, c.msg)
  }
})

t.test('every client authentication failure is the same 401 invalid_client', async (t) => {
  const { identifier: resource } = await createResource(app, admin)
  const make = async (): Promise<TestClient> => await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const good = await make()
  const other = await make()
  const expired = await make()
  await app.tally.db.updateTable('credentials').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', expired.secretId).execute()
  const revoked = await make()
  expectStatus(await adminCall(app, admin, 'DELETE', `/admin/identities/${revoked.id}/credentials/${revoked.secretId}`), 204)
  const disabled = await make()
  expectStatus(await adminCall(app, admin, 'PATCH', `/admin/identities/${disabled.id}`, { status: 'disabled' }), 200)
  const deleted = await make()
  expectStatus(await adminCall(app, admin, 'DELETE', `/admin/identities/${deleted.id}`), 204)
  const noSecret = expectStatus(await adminCall(app, admin, 'POST', '/admin/identities', { client_id: uniqueId('bare'), kind: 'workload' }))

  // Sanity: each of them worked before the change, as `good` still does.
  t.equal((await requestToken(app, good.clientId, good.secret)).statusCode, 200, 'the control client gets a token')
  // An instance of its own, so that these ~30 failures stay under its per-address throttle (429), which is
  // tested elsewhere, and do not count against the other tests of this file.
  const app2 = await build(root)

  const basicCases: Array<{ clientId: string, secret: string, msg: string }> = [
    { clientId: uniqueId('nobody'), secret: good.secret, msg: 'unknown client' },
    { clientId: good.clientId, secret: good.secret.slice(0, -1) + (good.secret.endsWith('A') ? 'B' : 'A'), msg: 'wrong secret (one character off)' },
    { clientId: good.clientId, secret: 'tly_', msg: 'secret that is only the prefix' },
    { clientId: good.clientId, secret: other.secret, msg: "another identity's secret" },
    { clientId: good.clientId.toUpperCase(), secret: good.secret, msg: 'client_id is case-sensitive' },
    { clientId: expired.clientId, secret: expired.secret, msg: 'expired secret' },
    { clientId: revoked.clientId, secret: revoked.secret, msg: 'revoked secret' },
    { clientId: disabled.clientId, secret: disabled.secret, msg: 'disabled identity' },
    { clientId: deleted.clientId, secret: deleted.secret, msg: 'deleted identity' },
    { clientId: noSecret.client_id, secret: good.secret, msg: 'identity with no secret' },
    { clientId: deleted.id, secret: deleted.secret, msg: 'the UUID is not a client_id' },
    { clientId: 'x'.repeat(300), secret: good.secret, msg: 'overlong client_id' }
  ]
  for (const c of basicCases) {
    assertInvalidClient(t, await requestToken(app2, c.clientId, c.secret), `basic: ${c.msg}`)
    const post = await postToken(app2, { 'content-type': FORM_TYPE }, form({ grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.secret }))
    assertInvalidClient(t, post, `post: ${c.msg}`)
  }

  const headerCases: Array<{ headers: Record<string, string>, msg: string }> = [
    { headers: {}, msg: 'no client authentication' },
    { headers: { authorization: `Bearer ${good.secret}` }, msg: 'a Bearer header' },
    { headers: { authorization: 'Basic !!!' }, msg: 'Basic that is not base64' },
    { headers: { authorization: 'Basic ' + Buffer.from(good.clientId).toString('base64') }, msg: 'Basic without a colon' },
    { headers: { authorization: 'Basic ' + Buffer.from(`${good.clientId}:%E0%A4%A`).toString('base64') }, msg: 'Basic with a bad percent-escape' }
  ]
  for (const c of headerCases) {
    const res = await postToken(app2, { ...c.headers, 'content-type': FORM_TYPE }, form({ grant_type: 'client_credentials' }))
    assertInvalidClient(t, res, c.msg)
  }
  const onlyId = await postToken(app2, { 'content-type': FORM_TYPE }, form({ grant_type: 'client_credentials', client_id: good.clientId }))
  assertInvalidClient(t, onlyId, 'client_id without a secret')
})

t.test('several active secrets work at once (rotation)', async (t) => {
  const { identifier: resource } = await createResource(app, admin)
  const client = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const second = expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${client.id}/secrets`, { expires_at: inSeconds(86_400) }))
  t.not(second.client_secret, client.secret)
  for (const [secret, id, msg] of [[client.secret, client.secretId, 'old secret'], [second.client_secret, second.id, 'new secret']] as const) {
    const res = await requestToken(app, client.clientId, secret)
    t.equal(res.statusCode, 200, msg)
    const jti = decodePayload(res.json().access_token).jti
    const session = await app.tally.db.selectFrom('sessions').select('credential_id').where('jti', '=', jti).executeTakeFirst()
    t.equal(session?.credential_id, id, `${msg}: session names the credential used`)
  }
  expectStatus(await adminCall(app, admin, 'DELETE', `/admin/identities/${client.id}/credentials/${client.secretId}`), 204)
  assertInvalidClient(t, await requestToken(app, client.clientId, client.secret), 'old secret after its revocation')
  const res = await requestToken(app, client.clientId, second.client_secret)
  t.equal(res.statusCode, 200, 'new secret still works')
  t.equal(decodePayload(res.json().access_token).epoch, 2, 'and carries the epoch bumped by the revocation')
})

t.test('nothing in the request changes sub, epoch or the lifetime', async (t) => {
  const { identifier: resource } = await createResource(app, admin)
  const client = await createClient(app, admin, { token_ttl_s: 120, entitlements: [{ resource, scopes: ['read'] }] })
  expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${client.id}/revoke-sessions`, {}), 200)
  t.equal(await epochOf(app, client.id), 2)
  const res = await requestToken(app, client.clientId, client.secret, {
    sub: '00000000-0000-4000-8000-000000000000',
    epoch: '9',
    expires_in: '99999',
    exp: '9999999999',
    iat: '1',
    jti: 'chosen-jti',
    iss: 'https://evil.example',
    client_id: client.clientId,
    token_ttl_s: '86400'
  })
  t.equal(res.statusCode, 200)
  t.equal(res.json().expires_in, 120, 'expires_in is the identity ttl')
  const claims = decodePayload(res.json().access_token)
  t.equal(claims.sub, client.id, 'sub')
  t.equal(claims.epoch, 2, 'epoch is the current epoch')
  t.equal(claims.exp - claims.iat, 120, 'lifetime')
  t.equal(claims.iss, ISSUER, 'iss')
  t.not(claims.jti, 'chosen-jti', 'jti')
  t.ok(Math.abs(claims.iat - Date.now() / 1000) < 5, 'iat')

  const mismatch = await requestToken(app, client.clientId, client.secret, { client_id: 'someone-else' })
  t.equal(mismatch.statusCode, 400, 'a body client_id naming another client')
  t.strictSame(mismatch.json(), { error: 'invalid_request', error_description: 'client_id does not match the client credentials' })
})

t.test('every issued token has its session row with the token epoch', async (t) => {
  const { identifier: resource } = await createResource(app, admin, { scopes: ['read', 'write'] })
  const client = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read', 'write'] }] })
  const responses = await Promise.all(Array.from({ length: 20 }, async (_, i) =>
    await requestToken(app, client.clientId, client.secret, { scope: i % 2 === 0 ? 'read' : 'read write' })))
  const jtis = responses.map((r) => decodePayload(r.json().access_token).jti as string)
  t.strictSame(responses.map((r) => r.statusCode), Array(20).fill(200), 'all 20 concurrent requests succeed')
  const rows = await app.tally.db.selectFrom('sessions').select(['jti', 'scope', 'epoch']).where('jti', 'in', jtis).execute()
  t.equal(rows.length, 20, 'one session per token')
  for (const r of responses) {
    const claims = decodePayload(r.json().access_token)
    const row = rows.find((x) => x.jti === claims.jti)
    t.strictSame({ scope: row?.scope, epoch: row?.epoch }, { scope: claims.scope, epoch: claims.epoch }, `session of ${claims.jti as string}`)
  }
})
