// The compact JWS (RFC 7515 §7.1) of a Tally access token taken apart without verifying anything, and
// its signature checked with node:crypto. Checking the signature with the callback form of
// crypto.verify runs it on libuv's thread pool, as WebCrypto does for jose, so concurrent checks use
// every core; the synchronous form would hold the event loop for each (~80 µs for P-256).
import { verify as cryptoVerify, type KeyObject } from 'node:crypto'

export interface JwsHeader { alg: string, kid: string, typ?: unknown, crit?: unknown, [name: string]: unknown }

export interface CompactJws {
  /** The protected header segment as sent (also the key of the parsed-header cache). */
  encodedHeader: string
  payload: Record<string, unknown>
  /** ASCII `header.payload`: what was signed. */
  signingInput: string
  signature: string
}

const BASE64URL = /^[A-Za-z0-9_-]+$/

/** Splits a compact JWS into its three base64url segments and parses the payload; undefined if malformed. */
export function splitCompactJws (token: string): CompactJws | undefined {
  const dot1 = token.indexOf('.')
  const dot2 = token.indexOf('.', dot1 + 1)
  if (dot1 <= 0 || dot2 < 0 || dot2 === dot1 + 1 || token.indexOf('.', dot2 + 1) >= 0) return undefined
  const signingInput = token.slice(0, dot2)
  const signature = token.slice(dot2 + 1)
  const encodedPayload = token.slice(dot1 + 1, dot2)
  // jose rejects what is not base64url; Buffer would silently skip such characters.
  if (!BASE64URL.test(encodedPayload) || !BASE64URL.test(signature)) return undefined
  const payload = decodeJsonObject(encodedPayload)
  return payload === undefined ? undefined : { encodedHeader: token.slice(0, dot1), payload, signingInput, signature }
}

/** A base64url segment holding a JSON object (RFC 7519 §7.2 steps 4–5, 10), else undefined. */
export function parseJsonObject (segment: string): Record<string, unknown> | undefined {
  return BASE64URL.test(segment) ? decodeJsonObject(segment) : undefined
}

// The same for a segment already known to be base64url (each segment is tested once: the regex is a
// sizeable part of a first sight's own work).
function decodeJsonObject (segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

// ECDSA is malleable: (r, n − s) verifies wherever (r, s) does. Tally signs low-S only, so refusing high
// S gives one token one encoding, and the verifier agrees with /introspect, which knows the exact bytes.
// n/2 as 32 big-endian bytes: s and n/2 have the same length, so comparing bytes compares numbers (and
// costs a tenth of going through a BigInt).
const P256_HALF_N = Buffer.from((0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n >> 1n).toString(16).padStart(64, '0'), 'hex')

/** Is the s of an ES256 signature (r ‖ s) above n/2? */
export function isHighS (signature: Uint8Array): boolean {
  return Buffer.compare(signature.subarray(32, 64), P256_HALF_N) > 0
}

/**
 * RFC 7518 §3.4 (ES256: r‖s, 64 bytes, low S only) and RFC 8037 §3.1 (EdDSA over Ed25519, not
 * malleable), off the event loop.
 */
export function verifyJwsSignature (alg: string, key: KeyObject, jws: CompactJws): Promise<boolean> {
  const signature = Buffer.from(jws.signature, 'base64url')
  if (signature.length !== 64 || (alg === 'ES256' && isHighS(signature))) return Promise.resolve(false)
  const data = Buffer.from(jws.signingInput, 'latin1')
  return new Promise<boolean>((resolve) => {
    const done = (err: Error | null, ok: boolean): void => { resolve(err === null && ok) }
    if (alg === 'ES256') cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature, done)
    else cryptoVerify(null, data, key, signature, done)
  })
}

// RFC 8725 §3.11 / RFC 9068 §4: `typ` compared as a media type, "at+jwt" meaning "application/at+jwt".
const normalizeTyp = (typ: string): string => typ.includes('/') ? typ.toLowerCase() : `application/${typ.toLowerCase()}`
const AT_JWT = normalizeTyp('at+jwt')

/**
 * The protected header of an access token we may verify (RFC 9068 §4, RFC 8725 §2.1): `alg` exactly one
 * of `algorithms` (asymmetric: never `none` nor HS*), `typ` at+jwt, a `kid` to look up in the JWKS, and
 * no `crit` extension. Undefined otherwise.
 */
export function acceptedHeader (segment: string, algorithms: readonly string[]): { alg: string, kid: string } | undefined {
  const header = parseJsonObject(segment)
  if (header === undefined || header.crit !== undefined) return undefined
  const { alg, kid, typ } = header
  if (typeof alg !== 'string' || !algorithms.includes(alg)) return undefined
  if (typeof typ !== 'string' || normalizeTyp(typ) !== AT_JWT) return undefined
  return typeof kid === 'string' && kid !== '' ? { alg, kid } : undefined
}
