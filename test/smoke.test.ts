import t from './support/tap.js'
import { build, adminToken, decodePayload, decodeHeader } from './helper.js'

t.test('bootstrap admin gets an admin token', async (t) => {
  const app = await build(t)
  const token = await adminToken(app)
  t.equal(decodeHeader(token).typ, 'at+jwt')
  t.equal(decodePayload(token).aud, 'urn:tally:admin')
  t.equal(decodePayload(token).epoch, 1)
})
