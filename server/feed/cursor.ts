// Feed cursors (docs/reference/epoch-feed.md): opaque to callers, a versioned base64url wrapping of an epoch_events seq here.
// seq order is commit order (store/epochs.ts takes one advisory lock per event), so "every event with a
// seq above the cursor" is exactly "every event committed after the cursor was handed out".

const PREFIX = 'e1.'
const MAX_CURSOR_LENGTH = 64

export function encodeCursor (seq: number): string {
  return Buffer.from(`${PREFIX}${seq}`, 'utf8').toString('base64url')
}

/** The seq a cursor stands for, or undefined for anything this server did not hand out. */
export function decodeCursor (cursor: string): number | undefined {
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  if (!text.startsWith(PREFIX)) return undefined
  const digits = text.slice(PREFIX.length)
  if (!/^(0|[1-9]\d{0,15})$/.test(digits)) return undefined
  const seq = Number(digits)
  // Only the canonical spelling: base64url decoding alone would accept variants of one cursor.
  return Number.isSafeInteger(seq) && encodeCursor(seq) === cursor ? seq : undefined
}
