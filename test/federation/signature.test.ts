// Platform signatures checked with node:crypto (server/federation/signature.ts), against jose's compactVerify
// as the reference: for every algorithm a trust may use, both accept the genuine JWS and both refuse a
// tampered one, another key's, and the other padding; keys that cannot verify an alg are refused up front.
import { generateKeyPairSync } from 'node:crypto'
import t from '../support/tap.js'
import { CompactSign, compactVerify, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose'
import { PLATFORM_ALGORITHMS, verificationKey, verifySignature } from '../../server/federation/signature.js'

const payload = new TextEncoder().encode(JSON.stringify({ iss: 'https://platform.example', sub: 'system:serviceaccount:ci:deploy' }))

// RSA key generation is slow (most of this file's time on Node 20): the six RS/PS algorithms share two
// key pairs, kept as JWKs and imported for each algorithm (a WebCrypto key is bound to one).
const pairs = new Map<string, Promise<Array<{ privateJwk: JWK, publicJwk: JWK }>>>()
async function keyPairsFor (alg: string): Promise<Array<{ privateJwk: JWK, publicJwk: JWK }>> {
  const kind = /^(RS|PS)/.test(alg) ? 'RSA' : alg
  let found = pairs.get(kind)
  if (found === undefined) {
    const make = async (): Promise<{ privateJwk: JWK, publicJwk: JWK }> => {
      const pair = await generateKeyPair(kind === 'RSA' ? 'RS256' : alg, { crv: alg === 'EdDSA' ? 'Ed25519' : undefined, extractable: true })
      return { privateJwk: await exportJWK(pair.privateKey), publicJwk: await exportJWK(pair.publicKey) }
    }
    found = Promise.all([make(), make()])
    pairs.set(kind, found)
  }
  return await found
}

async function jwsFor (alg: string): Promise<{ jws: string, jwk: JWK, otherJwk: JWK }> {
  const [pair, other] = await keyPairsFor(alg) as [{ privateJwk: JWK, publicJwk: JWK }, { privateJwk: JWK, publicJwk: JWK }]
  const privateKey = await importJWK(pair.privateJwk, alg)
  const jws = await new CompactSign(payload).setProtectedHeader({ alg }).sign(privateKey)
  return { jws, jwk: pair.publicJwk, otherJwk: other.publicJwk }
}

const ours = async (alg: string, jwk: JWK, jws: string): Promise<boolean> => {
  const key = verificationKey(jwk as Record<string, unknown>, alg)
  if (key === undefined) return false
  const dot = jws.lastIndexOf('.')
  return await verifySignature(alg, key, jws.slice(0, dot), jws.slice(dot + 1))
}
const jose = async (alg: string, jwk: JWK, jws: string): Promise<boolean> => {
  try {
    await compactVerify(jws, await importJWK(jwk, alg), { algorithms: [alg] })
    return true
  } catch {
    return false
  }
}

t.test('every platform algorithm: node:crypto and jose agree on genuine, tampered and foreign signatures', async (t) => {
  const verdicts: Record<string, { ours: boolean[], jose: boolean[] }> = {}
  for (const alg of PLATFORM_ALGORITHMS) {
    const { jws, jwk, otherJwk } = await jwsFor(alg)
    const [h, p, s] = jws.split('.') as [string, string, string]
    const flipped = Buffer.from(s, 'base64url')
    flipped[5] = (flipped[5] as number) ^ 1
    const cases: Array<[JWK, string]> = [
      [jwk, jws],
      [jwk, `${h}.${Buffer.from('{"iss":"x"}').toString('base64url')}.${s}`],
      [jwk, `${h}.${p}.${flipped.toString('base64url')}`],
      [otherJwk, jws],
      [jwk, `${h}.${p}.${Buffer.from(s, 'base64url').subarray(1).toString('base64url')}`]
    ]
    verdicts[alg] = { ours: [], jose: [] }
    for (const [key, token] of cases) {
      verdicts[alg].ours.push(await ours(alg, key, token))
      verdicts[alg].jose.push(await jose(alg, key, token))
    }
  }
  const expected = Object.fromEntries(PLATFORM_ALGORITHMS.map((alg) => [alg, [true, false, false, false, false]]))
  t.strictSame(Object.fromEntries(Object.entries(verdicts).map(([alg, v]) => [alg, v.ours])), expected, 'ours: only the genuine JWS verifies (11 algorithms × 5 cases)')
  t.strictSame(Object.fromEntries(Object.entries(verdicts).map(([alg, v]) => [alg, v.jose])), expected, 'jose agrees')
})

t.test('RS256 and PS256 are not interchangeable', async (t) => {
  const { jws, jwk } = await jwsFor('RS256')
  const [, p, s] = jws.split('.') as [string, string, string]
  const asPss = `${Buffer.from('{"alg":"PS256"}').toString('base64url')}.${p}.${s}`
  t.equal(await ours('PS256', jwk, asPss), false)
})

t.test('keys that cannot verify the alg are refused before any signature check', async (t) => {
  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }) as Record<string, unknown>
  const n = Buffer.from(rsa1024.n as string, 'base64url')
  const padded = { ...rsa1024, n: Buffer.concat([Buffer.alloc(128), n]).toString('base64url') }
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as Record<string, unknown>
  const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }) as Record<string, unknown>
  const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }) as Record<string, unknown>
  const refused = [
    ['RS256', rsa1024], ['PS256', rsa1024], ['RS256', padded], ['ES384', p256], ['ES256', rsa2048], ['EdDSA', p256], ['RS256', ed], ['HS256', rsa2048], ['none', rsa2048]
  ] as const
  t.strictSame(refused.map(([alg, jwk]) => verificationKey(jwk, alg) === undefined), refused.map(() => true), 'a 1024-bit modulus (padded or not), a wrong curve, a wrong key type, a symmetric or no alg')
  t.equal(verificationKey(rsa2048, 'RS256')?.asymmetricKeyType, 'rsa', 'a 2048-bit RSA key verifies RS256')
  t.equal(verificationKey({ kty: 'RSA', n: 'AA', e: '' }, 'RS256'), undefined, 'an RSA JWK of no size is refused')
  t.throws(() => verificationKey({ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }, 'ES256'), 'a JWK that is no key throws')
})
