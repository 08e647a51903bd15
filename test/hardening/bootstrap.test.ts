// Issue 9 finding 8: bootstrap runs on a database that was never bootstrapped, and only there. A deleted
// or disabled admin is never revived by a restart with TALLY_BOOTSTRAP_ADMIN_SECRET.
import t from '../support/tap.js'
import { sql } from '../../server/store/kysely.js'
import { ADMIN_SECRET, build, requestToken } from '../helper.js'

// Every app of this file opens the same database (the store is shared per top-level test): a restart.
const root = t
const first = await build(root)
const { db } = first.tally
const activeAdmins = async (): Promise<number> => Number((await sql<{ n: string }>`select count(*) as n from identities where kind = 'admin' and status = 'active'`.execute(db)).rows[0]?.n)
const markers = async (): Promise<number> => Number((await sql<{ n: string }>`select count(*) as n from bootstrap_state`.execute(db)).rows[0]?.n)

t.test('the first start creates admin and the marker together', async (t) => {
  t.equal(await activeAdmins(), 1)
  t.equal(await markers(), 1)
  t.equal((await requestToken(first, 'admin', ADMIN_SECRET, { resource: 'urn:tally:admin' })).statusCode, 200)
})

t.test('a disabled, then deleted, admin stays gone across restarts', async (t) => {
  await sql`update identities set status = 'disabled' where client_id = 'admin'`.execute(db)
  const second = await build(root)
  t.equal(await activeAdmins(), 0, 'a restart does not create a new admin beside the disabled one')
  t.equal((await requestToken(second, 'admin', ADMIN_SECRET, { resource: 'urn:tally:admin' })).statusCode, 401, 'the bootstrap secret gets nothing')
  await sql`update identities set status = 'deleted' where client_id = 'admin'`.execute(db)
  const third = await build(root)
  t.equal(await activeAdmins(), 0, 'nor after the admin is deleted')
  t.equal((await requestToken(third, 'admin', ADMIN_SECRET, { resource: 'urn:tally:admin' })).statusCode, 401, 'the deleted admin\'s secret gets nothing')
})

t.test('a database with identities but no marker counts as bootstrapped', async (t) => {
  await sql`delete from bootstrap_state`.execute(db)
  const fourth = await build(root)
  t.equal(await activeAdmins(), 0, 'no admin created')
  t.equal(await markers(), 1, 'the marker is written')
  t.equal((await requestToken(fourth, 'admin', ADMIN_SECRET, { resource: 'urn:tally:admin' })).statusCode, 401)
})
