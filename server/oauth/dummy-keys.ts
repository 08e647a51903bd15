// Public keys no client holds, one per key type an assertion may name. When the presented client is
// unknown, inactive or has no key for the assertion, the assertion is verified against one of these, so
// that the answer costs the same import and signature check as a known client's (docs/reference/endpoints.md: no measurable
// timing difference between known and unknown clients). Generated once per process, on first use.
import { generateKeyPairSync } from 'node:crypto'
import type { JWK } from 'jose'

type Family = 'P-256' | 'P-384' | 'P-521' | 'Ed25519' | 'RSA'

const FAMILY_OF_ALG: Record<string, Family> = {
  ES256: 'P-256', ES384: 'P-384', ES512: 'P-521', EdDSA: 'Ed25519', Ed25519: 'Ed25519',
  RS256: 'RSA', RS384: 'RSA', RS512: 'RSA', PS256: 'RSA', PS384: 'RSA', PS512: 'RSA'
}

const cache = new Map<Family, JWK>()

function generate (family: Family): JWK {
  const { publicKey } = family === 'RSA'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : family === 'Ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: family })
  return publicKey.export({ format: 'jwk' }) as JWK
}

/** A public JWK (with `alg`) of the key type `alg` implies; ES256 for an algorithm Tally does not accept. */
export function dummyPublicJwk (alg: unknown): JWK {
  const name = typeof alg === 'string' && FAMILY_OF_ALG[alg] !== undefined ? alg : 'ES256'
  const family = FAMILY_OF_ALG[name] as Family
  let jwk = cache.get(family)
  if (jwk === undefined) {
    jwk = generate(family)
    cache.set(family, jwk)
  }
  return { ...jwk, alg: name }
}
