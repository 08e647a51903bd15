// Grouped reads and the group commit under a concurrent revoke-all (docs/performance.md, docs/decisions.md §32): tokens
// minted by client_credentials and by token exchange while POST /admin/identities/:id/revoke-sessions
// commits. Whatever the interleaving, every token that was answered has its session row, and no token
// that carries the epoch from before the revoke is ever active — at /introspect, nor as a later exchange's subject.
// The last test commits the revoke between the grant's two steps (its authenticate, then its handler) on purpose.
import t from '../support/tap.js'
import { sql } from '../../server/store/kysely.js'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { adminCall, adminToken, build, decodePayload, requestToken } from '../helper.js'
import { epochOf, expectStatus, type TestClient } from '../support/admin.js'
import { introspection, tokenFor } from '../support/oauth.js'
import { ACCESS_TOKEN_TYPE, chainFixture, exchange, TOKEN_EXCHANGE } from './fixture.js'
import * as tokenExchange from '../../server/oauth/grants/token-exchange.js'

const app = await build(t)
const admin = await adminToken(app)
const WAVE = 16

interface Minted { token: string, claims: Record<string, any> }

/**
 * Eight workers send requests back to back; once 16 were answered the revoke-all starts, while the workers keep
 * sending, and they stop 16 answers after it committed: tokens before, during and after the revoke.
 */
async function acrossRevoke (who: TestClient, send: () => Promise<LightMyRequestResponse>): Promise<{ minted: Minted[], refused: LightMyRequestResponse[] }> {
  const responses: LightMyRequestResponse[] = []
  let revoke: Promise<LightMyRequestResponse> | undefined
  let answeredAtRevoke = -1
  const worker = async (): Promise<void> => {
    while (answeredAtRevoke < 0 || responses.length < answeredAtRevoke + WAVE) {
      responses.push(await send())
      if (revoke === undefined && responses.length >= WAVE) {
        revoke = adminCall(app, admin, 'POST', `/admin/identities/${who.id}/revoke-sessions`, {})
          .then((res) => { answeredAtRevoke = responses.length; return res })
      }
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
  expectStatus(await (revoke as Promise<LightMyRequestResponse>), 200)
  const minted: Minted[] = []
  const refused: LightMyRequestResponse[] = []
  for (const res of responses) {
    if (res.statusCode === 200) { const token = res.json().access_token as string; minted.push({ token, claims: decodePayload(token) }) } else refused.push(res)
  }
  return { minted, refused }
}

async function sessionRows (fastify: FastifyInstance, jtis: string[]): Promise<number> {
  if (jtis.length === 0) return 0
  const rows = await fastify.tally.db.selectFrom('sessions').select('jti').where('jti', 'in', jtis).execute()
  return rows.length
}

t.test('client_credentials across a revoke-all of the client: no token of the old epoch is active', async (t) => {
  const c = await chainFixture(app, admin)
  const before = await epochOf(app, c.subject.id)
  const { minted, refused } = await acrossRevoke(c.subject, async () => await requestToken(app, c.subject.clientId, c.subject.secret, { resource: c.resource }))
  const after = await epochOf(app, c.subject.id)
  t.equal(after, before + 1, 'the revoke bumped the epoch once')
  t.strictSame(refused.map((r) => r.statusCode), [], 'every request was answered with a token')
  t.equal(await sessionRows(app, minted.map((m) => m.claims.jti)), minted.length, 'every token answered has its session row')
  const wrong: string[] = []
  for (const m of minted) {
    const { active } = await introspection(app, c.rs, m.token)
    if (active !== (m.claims.epoch === after)) wrong.push(`epoch ${String(m.claims.epoch)}: active ${String(active)}`)
  }
  t.comment(`old epoch ${minted.filter((m) => m.claims.epoch !== after).length}, new ${minted.filter((m) => m.claims.epoch === after).length}`)
  t.strictSame(wrong, [], `${minted.length} tokens: active exactly when they carry the epoch after the revoke`)
})

t.test('token exchange across a revoke-all of the actor: no exchanged token of the old actor epoch is active', async (t) => {
  const c = await chainFixture(app, admin)
  const root = await tokenFor(app, c.subject, { resource: c.resource })
  const before = await epochOf(app, c.a.id)
  const { minted, refused } = await acrossRevoke(c.a, async () => await exchange(app, c.a, root, { resource: c.resource }))
  const after = await epochOf(app, c.a.id)
  t.equal(after, before + 1)
  t.strictSame(refused.map((r) => r.statusCode), [], 'the subject token stays active: every exchange succeeds')
  t.equal(await sessionRows(app, minted.map((m) => m.claims.jti)), minted.length, 'every exchanged token has its session row')
  const wrong: string[] = []
  for (const m of minted) {
    const { active } = await introspection(app, c.rs, m.token)
    if (active !== (m.claims.act.epoch === after)) wrong.push(`act.epoch ${String(m.claims.act.epoch)}: active ${String(active)}`)
    // A stale exchanged token cannot be carried one hop further either.
    if (m.claims.act.epoch !== after) {
      const next = await exchange(app, c.b, m.token)
      if (next.statusCode !== 400 || next.json().error !== 'invalid_grant') wrong.push(`a stale token was exchanged again: ${next.statusCode}`)
    }
  }
  t.comment(`old epoch ${minted.filter((m) => m.claims.act.epoch !== after).length}, new ${minted.filter((m) => m.claims.act.epoch === after).length}`)
  t.strictSame(wrong, [], `${minted.length} exchanged tokens: active exactly when they carry the actor's epoch after the revoke`)
})

t.test('token exchange across a revoke-all of the subject: old-epoch tokens inactive, the refused exchanges say why', async (t) => {
  const c = await chainFixture(app, admin)
  const root = await tokenFor(app, c.subject, { resource: c.resource })
  const { minted, refused } = await acrossRevoke(c.subject, async () => await exchange(app, c.a, root, { resource: c.resource }))
  const after = await epochOf(app, c.subject.id)
  t.equal(await sessionRows(app, minted.map((m) => m.claims.jti)), minted.length, 'every exchanged token has its session row')
  const bodies = new Set(refused.map((r) => `${r.statusCode} ${r.body}`))
  t.ok(refused.length > 0 && bodies.size === 1, 'one kind of refusal, after the revoke')
  for (const body of bodies) t.equal(body, '400 {"error":"invalid_grant","error_description":"subject_token is not an active access token"}')
  const wrong: string[] = []
  for (const m of minted) {
    const { active } = await introspection(app, c.rs, m.token)
    // Every exchange from the root carries the old epoch: none is active once the revoke committed.
    if (active) wrong.push(`epoch ${String(m.claims.epoch)} (now ${after}) active`)
  }
  t.comment(`minted ${minted.length}, refused ${refused.length}`)
  t.strictSame(wrong, [], `${minted.length} tokens exchanged from the revoked root: none active`)
})

t.test('plain and delegated sessions written concurrently through the group commit: each row keeps its own chain columns', async (t) => {
  const c = await chainFixture(app, admin)
  const root = await tokenFor(app, c.subject, { resource: c.resource })
  const responses = await Promise.all(Array.from({ length: 12 }, async (_v, i) => i % 2 === 0
    ? await requestToken(app, c.subject.clientId, c.subject.secret, { resource: c.resource })
    : await exchange(app, c.a, root, { resource: c.resource })))
  const tokens = responses.map((res) => expectStatus(res, 200).access_token as string)
  const jtis = tokens.map((token) => decodePayload(token).jti as string)
  const rows = await app.tally.db.selectFrom('sessions').select(['jti', sql<string | null>`parent_jti`.as('parent_jti'), sql<string[] | null>`actor_ids`.as('actor_ids')])
    .where('jti', 'in', jtis).execute()
  const byJti = new Map(rows.map((r) => [r.jti, r]))
  const rootJti = decodePayload(root).jti as string
  const wrong: string[] = []
  tokens.forEach((token, i) => {
    const row = byJti.get(jtis[i] as string)
    const expected = i % 2 === 0 ? { parent_jti: null, actor_ids: null } : { parent_jti: rootJti, actor_ids: [c.a.id] }
    if (JSON.stringify({ parent_jti: row?.parent_jti, actor_ids: row?.actor_ids }) !== JSON.stringify(expected)) wrong.push(`${i}: ${JSON.stringify(row)}`)
  })
  t.strictSame(wrong, [], '12 sessions, 6 plain and 6 delegated')
  const active = await Promise.all(tokens.map(async (token) => (await introspection(app, c.rs, token)).active as boolean))
  t.strictSame(active, tokens.map(() => true), 'all active at /introspect')
})

t.test('a revoke-all of the subject between the subject token\'s check and the exchange state: refused, never a token of the new epoch', async (t) => {
  const c = await chainFixture(app, admin)
  const root = await tokenFor(app, c.subject, { resource: c.resource })
  const params = { grant_type: TOKEN_EXCHANGE, subject_token: root, subject_token_type: ACCESS_TOKEN_TYPE, resource: c.resource }
  const presented = { method: 'client_secret_basic' as const, clientId: c.a.clientId, secret: c.a.secret }
  // The grant's two steps, as the route runs them, with the revoke committed in between.
  const auth = await tokenExchange.authenticate?.(app.tally.clientAuth, presented, params, '127.0.0.1')
  t.equal(auth?.session?.revoked, false, 'the subject token was active when checked')
  expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${c.subject.id}/revoke-sessions`, {}), 200)
  await t.rejects(tokenExchange.handler(app.tally, { auth: auth as NonNullable<typeof auth>, params, resources: [c.resource] }),
    { error: 'invalid_grant', message: 'subject_token is not an active access token' })
})
