// Purges (issue 6): expired sessions past retention, used assertion jtis past exp and feed events past
// retention go, in batches; everything still needed stays — including the newest feed event.
import t from '../support/tap.js'
import { randomUUID } from 'node:crypto'
import { sql } from '../../server/store/kysely.js'
import { purgeExpired } from '../../server/maintenance/purge.js'
import { adminCall, adminToken, build, decodePayload } from '../helper.js'

t.test('purgeExpired removes only what nobody needs any more', async (t) => {
  const app = await build(t)
  const { db } = app.tally
  const admin = await adminToken(app)
  const identity = (await adminCall(app, admin, 'POST', '/admin/identities', { client_id: `purge-${randomUUID().slice(0, 8)}`, kind: 'agent' })).json()
  const live = decodePayload(admin).jti as string
  const resource = await db.selectFrom('resources').select('id').where('identifier', '=', 'urn:tally:admin').executeTakeFirstOrThrow()
  const old = Array.from({ length: 1500 }, () => randomUUID())
  await sql`
    insert into sessions (jti, identity_id, epoch, resource_id, scope, iat, exp, token_hash, kid)
    select j, ${identity.id}::uuid, 1, ${resource.id}::uuid, 'x', now() - interval '3 hours', now() - interval '2 hours', '\\x00', 'k'
    from unnest(${old}::uuid[]) j`.execute(db)
  await sql`insert into used_assertions (identity_id, jti, exp) values (${identity.id}, 'old', now() - interval '1 minute'), (${identity.id}, 'fresh', now() + interval '1 minute')`.execute(db)
  const revokes: number[] = []
  for (let i = 0; i < 3; i++) revokes.push((await adminCall(app, admin, 'POST', `/admin/identities/${identity.id as string}/revoke-sessions`, {})).statusCode)
  t.strictSame(revokes, [200, 200, 200], 'three epoch events written')
  await sql`update epoch_events set at = now() - interval '2 days'`.execute(db)
  const newest = await db.selectFrom('epoch_events').select(sql<string>`max(seq)::text`.as('seq')).executeTakeFirstOrThrow()

  const purged = await purgeExpired(db, { sessionRetentionS: 3600, feedRetentionS: 86_400 })
  t.ok(purged.sessions >= 1500, `the expired sessions went (${purged.sessions}), in batches of 1000`)
  t.ok(purged.assertions >= 1)
  t.ok(purged.events >= 2, 'old feed events went')
  const sessions = await db.selectFrom('sessions').select('jti').where('jti', 'in', [live, old[0] as string]).execute()
  t.strictSame(sessions.map((s) => s.jti), [live], 'the live admin session stays')
  const assertions = await db.selectFrom('used_assertions').select('jti').where('identity_id', '=', identity.id).execute()
  t.strictSame(assertions.map((a) => a.jti), ['fresh'], 'an assertion jti stays until its exp')
  const events = await db.selectFrom('epoch_events').select(sql<string>`seq::text`.as('seq')).execute()
  t.strictSame(events.map((e) => e.seq), [newest.seq], 'the newest feed event stays, so cursors never fall back')
  const res = await adminCall(app, admin, 'GET', '/admin/identities')
  t.equal(res.statusCode, 200, 'the admin token still works after the purge')
})
