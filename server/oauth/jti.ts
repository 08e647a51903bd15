// RFC 9562 §5.7 UUIDv7 for token jtis: 48 bits of Unix milliseconds, then 74 random bits. Time-ordered ids
// land at the right edge of the sessions primary-key B-tree instead of a random page, so inserting into —
// and looking up recent tokens in — a table of millions of sessions touches a few hot pages. The jti need
// not be secret (introspection matches the token's digest), and 74 random bits keep it unique.
import { randomFillSync } from 'node:crypto'

const POOL_IDS = 256
const pool = Buffer.alloc(16 * POOL_IDS)
let next = POOL_IDS

export function uuidv7 (now = Date.now()): string {
  if (next === POOL_IDS) { randomFillSync(pool); next = 0 }
  const b = pool.subarray(next * 16, next * 16 + 16)
  next++
  b.writeUIntBE(now, 0, 6)
  b[6] = ((b[6] as number) & 0x0f) | 0x70 // version 7
  b[8] = ((b[8] as number) & 0x3f) | 0x80 // variant 10
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}
