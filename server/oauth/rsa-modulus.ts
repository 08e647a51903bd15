// The size of an RSA key is the bit length of its modulus as a number, not the length of its encoding:
// RFC 7518 §6.3.1.1 wants `n` without leading zero octets, but a JWK that carries some must not pass a
// 1024-bit key off as 2048 bits.

/** Bit length of a base64url big-endian unsigned integer (JWK `n`), leading zero octets ignored. */
export function rsaModulusBits (n: string): number {
  const bytes = Buffer.from(n, 'base64url')
  let first = 0
  while (first < bytes.length && bytes[first] === 0) first++
  if (first === bytes.length) return 0
  return (bytes.length - first - 1) * 8 + (32 - Math.clz32(bytes[first] as number))
}
