// The signature of a platform's JWS (RFC 7515 §5.2) checked with node:crypto and a KeyObject, for the
// algorithms a trust may use (RFC 7518 §3.3–3.5, RFC 8037 §3.1). jose's compactVerify did this through
// WebCrypto; under the profiler this step fell from 80 to 54 µs of event-loop time per jwt-bearer token
// (docs/performance.md). The callback form of crypto.verify runs the check itself on libuv's pool.
import { constants, createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto'

interface AlgSpec {
  /** The JWK a key must be to verify this alg (RFC 7518 §6, RFC 8037 §2). */
  jwk: { kty: string, crv?: string }
  hash: string | null
  /** node:crypto's asymmetricKeyType the key must have. */
  keyType: 'rsa' | 'ec' | 'ed25519'
  /** ECDSA: the curve (OpenSSL name) and the byte length of r ‖ s (RFC 7518 §3.4). */
  curve?: string
  signatureBytes?: number
  pss?: boolean
}

const ALGS: Record<string, AlgSpec> = {
  RS256: { jwk: { kty: 'RSA' }, hash: 'sha256', keyType: 'rsa' },
  RS384: { jwk: { kty: 'RSA' }, hash: 'sha384', keyType: 'rsa' },
  RS512: { jwk: { kty: 'RSA' }, hash: 'sha512', keyType: 'rsa' },
  PS256: { jwk: { kty: 'RSA' }, hash: 'sha256', keyType: 'rsa', pss: true },
  PS384: { jwk: { kty: 'RSA' }, hash: 'sha384', keyType: 'rsa', pss: true },
  PS512: { jwk: { kty: 'RSA' }, hash: 'sha512', keyType: 'rsa', pss: true },
  ES256: { jwk: { kty: 'EC', crv: 'P-256' }, hash: 'sha256', keyType: 'ec', curve: 'prime256v1', signatureBytes: 64 },
  ES384: { jwk: { kty: 'EC', crv: 'P-384' }, hash: 'sha384', keyType: 'ec', curve: 'secp384r1', signatureBytes: 96 },
  ES512: { jwk: { kty: 'EC', crv: 'P-521' }, hash: 'sha512', keyType: 'ec', curve: 'secp521r1', signatureBytes: 132 },
  EdDSA: { jwk: { kty: 'OKP', crv: 'Ed25519' }, hash: null, keyType: 'ed25519' },
  Ed25519: { jwk: { kty: 'OKP', crv: 'Ed25519' }, hash: null, keyType: 'ed25519' }
}

// RFC 7518 §3.3 and §3.5: RSA keys of 2048 bits or more.
const MIN_RSA_BITS = 2048

/** The algorithms a platform key may verify. */
export const PLATFORM_ALGORITHMS = Object.keys(ALGS)

/** Is the JWK of the type and curve `alg` needs? (A first filter on the JWKS; verificationKey checks the key itself.) */
export function jwkTypeFits (jwk: { kty?: unknown, crv?: unknown }, alg: string): boolean {
  const need = ALGS[alg]?.jwk
  return need !== undefined && jwk.kty === need.kty && (need.crv === undefined || jwk.crv === need.crv)
}

/**
 * A KeyObject for a public JWK that can verify `alg`, or undefined (wrong key type or curve, an RSA modulus
 * under 2048 bits — counted as a number, so leading zero bytes in `n` do not help). Only the public members
 * are read. Throws when the JWK cannot be imported at all.
 */
export function verificationKey (jwk: Record<string, unknown>, alg: string): KeyObject | undefined {
  const spec = ALGS[alg]
  if (spec === undefined) return undefined
  const publicJwk: Record<string, string> = {}
  for (const member of ['kty', 'crv', 'x', 'y', 'n', 'e']) {
    const value = jwk[member]
    if (typeof value === 'string') publicJwk[member] = value
  }
  const key = createPublicKey({ key: publicJwk as JsonWebKey, format: 'jwk' })
  if (key.asymmetricKeyType !== spec.keyType) return undefined
  const details = key.asymmetricKeyDetails ?? {}
  if (spec.keyType === 'rsa' && !((details.modulusLength ?? 0) >= MIN_RSA_BITS)) return undefined
  if (spec.curve !== undefined && details.namedCurve !== spec.curve) return undefined
  return key
}

/** Does the compact JWS `signingInput.signature` verify under `key` with `alg`? Off the event loop. */
export async function verifySignature (alg: string, key: KeyObject, signingInput: string, signatureB64: string): Promise<boolean> {
  const spec = ALGS[alg]
  if (spec === undefined) return false
  const signature = Buffer.from(signatureB64, 'base64url')
  if (spec.signatureBytes !== undefined && signature.length !== spec.signatureBytes) return false
  const data = Buffer.from(signingInput, 'latin1')
  const options = spec.pss === true
    // RFC 7518 §3.5: MGF1 with the same hash, a salt as long as the hash.
    ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
    : spec.signatureBytes !== undefined ? { key, dsaEncoding: 'ieee-p1363' as const } : key
  return await new Promise<boolean>((resolve) => {
    verify(spec.hash, data, options, signature, (err, ok) => { resolve(err === null && ok) })
  })
}
