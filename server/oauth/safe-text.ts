// What client input may look like before it goes near SQL. Postgres refuses NUL in text (error 22021), and
// a statement that fails fails every lookup grouped with it (store/clients.ts), so input that cannot be a
// stored value is refused here, per request, as the client error it is (docs/reference/endpoints.md: never a 5xx).

/** docs/reference/concepts.md: 1–128 characters of [A-Za-z0-9._:-]. Anything else names no identity. */
const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/

// C0 controls and DEL: never part of a credential, a parameter, a JWT header member or a claim Tally binds.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

export function isClientId (value: string): boolean {
  return CLIENT_ID.test(value)
}

export function hasControlCharacters (value: string): boolean {
  return CONTROL.test(value)
}

/** A JWT header `kid` Tally could have issued or registered: a short string without control characters. */
export function isPlausibleKid (value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 256 && !CONTROL.test(value)
}
