// ECDSA signatures are malleable: if (r, s) verifies, so does (r, n − s). Tally emits only the low-S form
// (s ≤ n/2, as BIP 62 and libsecp256k1 do), and its verifier refuses the other, so one token has one
// encoding: the bytes /introspect and /revoke recognise (by digest) are the only bytes the verifier accepts
// (issue 9 finding 12). OpenSSL does not normalise s itself.

/** The order of the P-256 group (SEC 2 §2.4.2, FIPS 186-4 D.1.2.3). */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n
const HALF_N = P256_N >> 1n
const SCALAR_BYTES = 32

// n/2 as 32 big-endian bytes: comparing equal-length big-endian bytes compares the numbers, and spares
// every signature a BigInt (only a high S, half of them, needs the arithmetic).
const HALF_N_BYTES = Buffer.from(HALF_N.toString(16).padStart(SCALAR_BYTES * 2, '0'), 'hex')

/** An ES256 signature r ‖ s (RFC 7518 §3.4, 64 bytes) with s replaced by n − s when s > n/2. */
export function lowS (signature: Buffer): Buffer {
  if (!isHighS(signature)) return signature
  const s = BigInt('0x' + signature.subarray(SCALAR_BYTES).toString('hex'))
  const low = Buffer.from((P256_N - s).toString(16).padStart(SCALAR_BYTES * 2, '0'), 'hex')
  return Buffer.concat([signature.subarray(0, SCALAR_BYTES), low])
}

export function isHighS (signature: Buffer): boolean {
  return Buffer.compare(signature.subarray(SCALAR_BYTES, SCALAR_BYTES * 2), HALF_N_BYTES) > 0
}
