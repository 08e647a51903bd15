// Issue 9 finding 12: ECDSA malleability. The high-S twin (r, n − s) of a live token must be refused by
// the verifier, as /introspect refuses it (it recognises only the issued bytes), and Tally signs low-S only.
import t from '../support/tap.js'
import { createVerifier } from '../../packages/verifier/src/index.js'
import { isHighS, lowS } from '../../server/keys/low-s.js'
import { isHighS as verifierIsHighS } from '../../packages/verifier/src/jws.js'
import { basic, form, FORM_TYPE, ISSUER } from '../helper.js'
import { tokenFor } from '../support/oauth.js'
import { feedFixture, startInstance } from '../support/instances.js'

const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n

/** The same token with s replaced by n − s: a signature that verifies for the same header and claims. */
function twin (token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string]
  const signature = Buffer.from(s, 'base64url')
  const flipped = N - BigInt('0x' + signature.subarray(32).toString('hex'))
  const other = Buffer.concat([signature.subarray(0, 32), Buffer.from(flipped.toString(16).padStart(64, '0'), 'hex')])
  return `${h}.${p}.${other.toString('base64url')}`
}

t.test('lowS maps a high s to n − s and leaves a low one alone', async (t) => {
  const r = Buffer.alloc(32, 1)
  const high = Buffer.concat([r, Buffer.from((N - 5n).toString(16).padStart(64, '0'), 'hex')])
  t.strictSame(lowS(high), Buffer.concat([r, Buffer.from((5n).toString(16).padStart(64, '0'), 'hex')]))
  const low = Buffer.concat([r, Buffer.from((5n).toString(16).padStart(64, '0'), 'hex')])
  t.equal(lowS(low), low)
})

t.test('high S starts just above n/2, for the signer and the verifier alike', async (t) => {
  const withS = (s: bigint): Buffer => Buffer.concat([Buffer.alloc(32, 0xff), Buffer.from(s.toString(16).padStart(64, '0'), 'hex')])
  const half = N >> 1n
  const cases = [0n, 1n, half - 1n, half, half + 1n, N - 1n].map((s) => withS(s))
  const expected = [false, false, false, false, true, true]
  t.strictSame(cases.map((sig) => isHighS(sig)), expected, 'server')
  t.strictSame(cases.map((sig) => verifierIsHighS(sig)), expected, 'verifier')
})

t.test('the high-S twin of a live token is refused by the verifier and inactive at /introspect', async (t) => {
  const a = await startInstance(t, t)
  const f = await feedFixture(a.app)
  const v = await createVerifier({ issuer: ISSUER, serverUrl: a.url, audience: f.resource, clientId: f.rs.clientId, clientSecret: f.rs.secret })
  a.onClosed(async () => await v.close())
  const tokens = await Promise.all(Array.from({ length: 32 }, async () => await tokenFor(a.app, f.svc, { resource: f.resource, scope: 'read' })))
  t.equal(tokens.filter((token) => isHighS(Buffer.from(token.split('.')[2] as string, 'base64url'))).length, 0, 'Tally signed all 32 tokens low-S')

  const token = tokens[0] as string
  const evil = twin(token)
  t.match(await v.verify(token), { active: true })
  t.strictSame(await v.verify(evil), { active: false, reason: 'invalid' })
  const introspect = async (value: string): Promise<unknown> => (await a.app.inject({
    method: 'POST', url: '/introspect', headers: { authorization: basic(f.rs.clientId, f.rs.secret), 'content-type': FORM_TYPE }, payload: form({ token: value })
  })).json()
  t.match(await introspect(token), { active: true })
  t.strictSame(await introspect(evil), { active: false })
})
