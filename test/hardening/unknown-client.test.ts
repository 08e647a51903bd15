// Issue 9 finding 7: an unknown client_id is answered exactly as a known client with a wrong credential —
// same status, body and headers, on every method — and the decoy the unknown one's lookup reads in its
// place (store/clients.ts: the live identity whose client_id follows it) never authenticates anything and
// never leaves the database. Timing itself is measured by scripts/auth-timing.ts, not here (docs/security.md).
import t from '../support/tap.js'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { KyselyPlugin } from '../../server/store/kysely.js'
import { exportJWK, generateKeyPair } from 'jose'
import { adminCall, adminToken, basic, build, FORM_TYPE, form, ISSUER } from '../helper.js'
import { createClient, createResource, grant } from '../support/admin.js'
import { assertion, assertionParams, someAddress } from '../support/oauth.js'
import { ClientLoader } from '../../server/store/clients.js'

async function tokenCall (app: FastifyInstance, headers: Record<string, string>, params: Record<string, string>): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/token', remoteAddress: someAddress(), headers: { 'content-type': FORM_TYPE, ...headers }, payload: form({ grant_type: 'client_credentials', ...params }) })
}

/** What a client sees of an answer: status, body and the headers that could differ. */
const seen = (res: LightMyRequestResponse): unknown => ({ status: res.statusCode, body: res.json(), 'www-authenticate': res.headers['www-authenticate'], 'retry-after': res.headers['retry-after'] })

t.test('known with a wrong credential and unknown: the same answer on every method', async (t) => {
  const app = await build(t)
  const admin = await adminToken(app)
  const known = await createClient(app, admin, { clientId: 'uc-known-client' })
  const keyless = await createClient(app, admin, { clientId: 'uc-keyless-client' })
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  t.equal((await adminCall(app, admin, 'POST', `/admin/identities/${known.id}/keys`, { jwk: { ...(await exportJWK(publicKey)), kid: 'k1' } })).statusCode, 201)
  const unknown = 'uc-ghost-client' // sorts just before uc-keyless-client: its decoy is that client
  const junk = async (clientId: string): Promise<string> => (await assertion(privateKey, 'ES256', clientId, ISSUER, {}, { kid: 'k1' })).slice(0, -8) + 'AAAAAAAA'

  const basicOf = async (clientId: string): Promise<unknown> => seen(await tokenCall(app, { authorization: basic(clientId, 'tly_wrong-secret') }, {}))
  const postOf = async (clientId: string): Promise<unknown> => seen(await tokenCall(app, {}, { client_id: clientId, client_secret: 'tly_wrong-secret' }))
  const jwtOf = async (clientId: string): Promise<unknown> => seen(await tokenCall(app, {}, assertionParams(await junk(clientId))))
  const expected = { status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' }, 'www-authenticate': `Basic realm="${ISSUER}"`, 'retry-after': undefined }
  t.strictSame(
    { basic: [await basicOf(known.clientId), await basicOf(unknown)], post: [await postOf(known.clientId), await postOf(unknown)], jwt: [await jwtOf(known.clientId), await jwtOf(keyless.clientId), await jwtOf(unknown)] },
    { basic: [expected, expected], post: [expected, expected], jwt: [expected, expected, expected] },
    'Basic, post and a junk signature (client with a key, without one, unknown): one answer')
})

t.test('the decoy never authenticates: the next client\'s own credentials fail under an unknown client_id', async (t) => {
  const app = await build(t)
  const admin = await adminToken(app)
  const neighbour = await createClient(app, admin, { clientId: 'uc-neighbour-b' })
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  t.equal((await adminCall(app, admin, 'POST', `/admin/identities/${neighbour.id}/keys`, { jwk: { ...(await exportJWK(publicKey)), kid: 'k1' } })).statusCode, 201)
  const resource = await createResource(app, admin, { scopes: ['read'] })
  await grant(app, admin, neighbour.id, resource.identifier, ['read'])
  const unknown = 'uc-neighbour-a' // the live client_id that follows it is the neighbour's
  const statuses = {
    secret: (await tokenCall(app, { authorization: basic(unknown, neighbour.secret) }, { resource: resource.identifier })).statusCode,
    assertion: (await tokenCall(app, {}, assertionParams(await assertion(privateKey, 'ES256', unknown, ISSUER, {}, { kid: 'k1' })))).statusCode,
    ownSecret: (await tokenCall(app, { authorization: basic(neighbour.clientId, neighbour.secret) }, { resource: resource.identifier })).statusCode,
    ownAssertion: (await tokenCall(app, {}, assertionParams(await assertion(privateKey, 'ES256', neighbour.clientId, ISSUER, {}, { kid: 'k1' }), { resource: resource.identifier }))).statusCode
  }
  t.strictSame(statuses, { secret: 401, assertion: 401, ownSecret: 200, ownAssertion: 200 }, 'under the unknown client_id both fail; under its own, both succeed')
})

t.test('the loader: a decoy comes back as no client, in a grouped read with the client it reads', async (t) => {
  const app = await build(t)
  const admin = await adminToken(app)
  const last = await createClient(app, admin, { clientId: 'zz-uc-last-client' })
  const resource = await createResource(app, admin, { scopes: ['read'] })
  await grant(app, admin, last.id, resource.identifier, ['read'])
  const loader = app.tally.clientAuth.clients
  // Same turn of the event loop: one statement. The second decoy is that client; the third sorts after every client_id (decoy: the first).
  const [own, before, after] = await Promise.all([loader.load(last.clientId), loader.load('zz-uc-last-clien'), loader.load('zzz-after-every-client')])
  t.strictSame(
    { own: [own.client?.clientId, own.client?.credentials.length, own.client?.entitlements.map((e) => e.resource)], before, after },
    { own: [last.clientId, 1, [resource.identifier]], before: { client: undefined, session: null }, after: { client: undefined, session: null } },
    'the known client is whole; the two unknown ones are no client')
})

t.test('one statement per authentication, known or unknown', async (t) => {
  const app = await build(t)
  const admin = await adminToken(app)
  const known = await createClient(app, admin)
  let statements = 0
  const counter: KyselyPlugin = { transformQuery: (args) => args.node, transformResult: async (args) => { statements++; return args.result } }
  const db = app.tally.clientAuth.db.withPlugin(counter)
  app.tally.clientAuth.db = db
  app.tally.clientAuth.clients = new ClientLoader(db)
  const count = async (clientId: string): Promise<number> => {
    const before = statements
    const res = await tokenCall(app, { authorization: basic(clientId, 'tly_wrong-secret') }, {})
    if (res.statusCode !== 401) throw new Error(`expected 401, got ${res.statusCode}`)
    return statements - before
  }
  t.strictSame({ known: await count(known.clientId), unknown: await count('uc-no-such-client') }, { known: 1, unknown: 1 }, 'the decoy is read in the same statement')
})
