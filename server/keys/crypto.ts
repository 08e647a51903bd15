// Symmetric primitives under TALLY_KEY_ENCRYPTION_KEY: AES-256-GCM for private signing keys at rest, and an
// HMAC-SHA-256 key (derived with HKDF, so the KEK itself never keys two algorithms) for client-secret hashes.
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'

const IV_BYTES = 12
const TAG_BYTES = 16

/** Encrypts with AES-256-GCM; the output is iv ‖ tag ‖ ciphertext. `context` is bound as associated data. */
export function encrypt (kek: Buffer, plaintext: Buffer, context: string): Buffer {
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', kek, iv)
  cipher.setAAD(Buffer.from(context))
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([iv, cipher.getAuthTag(), body])
}

export function decrypt (kek: Buffer, sealed: Uint8Array, context: string): Buffer {
  const data = Buffer.from(sealed)
  const decipher = createDecipheriv('aes-256-gcm', kek, data.subarray(0, IV_BYTES))
  decipher.setAAD(Buffer.from(context))
  decipher.setAuthTag(data.subarray(IV_BYTES, IV_BYTES + TAG_BYTES))
  return Buffer.concat([decipher.update(data.subarray(IV_BYTES + TAG_BYTES)), decipher.final()])
}

export function deriveSecretHashKey (kek: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'tally client-secret hash v1', 32))
}

/**
 * Client secrets are 256 random bits, so a keyed hash is enough: a slow KDF would add nothing against
 * guessing and cost throughput on every token request.
 */
export function hashSecret (hashKey: Buffer, secret: string): Buffer {
  return createHmac('sha256', hashKey).update(secret, 'utf8').digest()
}

/** Constant-time equality for equal-length digests; unequal lengths are simply unequal. */
export function digestsEqual (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** SHA-256 of an issued token, stored with its session so introspection can recognise the exact bytes. */
export function tokenDigest (token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

const SECRET_PREFIX = 'tly_'

/** A new client secret: `tly_` + 256 random bits in base64url. */
export function generateSecret (): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url')
}
