// commitChange (server/entitlements/change.ts): the change, its epoch bumps, feed events and audit row
// commit together or not at all; a deadlocked or serialization-failed attempt is run again.
import t from '../support/tap.js'
import { commitChange } from '../../server/entitlements/change.js'
import { migrateToLatest } from '../../server/store/database.js'
import { insertIdentity } from '../../server/store/identities.js'
import { sharedStore, uniqueId } from '../helper.js'

const { store } = await sharedStore(t)
const db = store.db
await migrateToLatest(db)
const newIdentity = async (): Promise<string> => (await insertIdentity(db, { clientId: uniqueId('chg'), kind: 'workload', name: null, tokenTtlS: null, metadata: {} })).id
const state = async (id: string): Promise<{ epoch: number, events: Array<number | null>, audits: number }> => ({
  epoch: (await db.selectFrom('identities').select('epoch').where('id', '=', id).executeTakeFirstOrThrow()).epoch,
  events: (await db.selectFrom('epoch_events').select('epoch').where('identity_id', '=', id).orderBy('seq').execute()).map((e) => e.epoch),
  audits: (await db.selectFrom('audit_events').select('id').where('identity_id', '=', id).execute()).length
})

t.test('narrow bumps each identity once, with its feed event and the audit row, and returns the new epochs', async (t) => {
  const [a, b] = [await newIdentity(), await newIdentity()]
  const epochs = await commitChange(db, null, async (change) => {
    const result = await change.narrow([b, a, a], 'sessions_revoked')
    await change.audit({ action: 'test.narrow', identityId: a })
    return result
  })
  t.strictSame(Object.fromEntries(epochs), { [a]: 2, [b]: 2 })
  t.strictSame(await state(a), { epoch: 2, events: [2], audits: 1 })
  t.strictSame(await state(b), { epoch: 2, events: [2], audits: 0 })
})

t.test('a change that throws leaves no bump, no event and no audit row', async (t) => {
  const a = await newIdentity()
  await t.rejects(commitChange(db, null, async (change) => {
    await change.narrow([a], 'identity_disabled')
    await change.audit({ action: 'test.fail', identityId: a })
    throw new Error('refused')
  }), { message: 'refused' })
  t.strictSame(await state(a), { epoch: 1, events: [], audits: 0 })
})

t.test('40P01 and 40001 are retried (a bounded number of times); other errors are not', async (t) => {
  const retryable = ['40P01', '40001']
  const attempts: number[] = []
  for (const code of retryable) {
    let n = 0
    await commitChange(db, null, async () => { if (++n < 3) throw Object.assign(new Error('conflict'), { code }) })
    attempts.push(n)
  }
  t.strictSame(attempts, [3, 3], 'run again until it commits')
  let forever = 0
  await t.rejects(commitChange(db, null, async () => { forever++; throw Object.assign(new Error('deadlock'), { code: '40P01' }) }), { code: '40P01' })
  t.equal(forever, 5, 'gives up after 5 attempts')
  let other = 0
  await t.rejects(commitChange(db, null, async () => { other++; throw Object.assign(new Error('unique'), { code: '23505' }) }), { code: '23505' })
  t.equal(other, 1, 'a unique violation is not retried')
})

t.test('resources must be locked before identities', async (t) => {
  const a = await newIdentity()
  await t.rejects(commitChange(db, null, async (change) => {
    await change.lockIdentities([a])
    await change.lockResources([a], 'share')
  }), { message: 'lock order: resources must be locked before identities' })
})
