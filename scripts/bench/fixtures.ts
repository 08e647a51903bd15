// Names and secrets shared by both servers under test, so each gets the same clients and the same requests.
export const JWT_RESOURCE = 'https://api.bench.example'
export const OPAQUE_RESOURCE = 'https://opaque.bench.example'
export const SCOPES = ['read', 'write']
/** The resource server that introspects (Tally: an introspector of JWT_RESOURCE; oidc-provider: a plain client). */
export const RS_CLIENT_ID = 'bench-rs'
export const RS_CLIENT_SECRET = 'tly_' + 'R'.repeat(43)

/** A fixed, secret-shaped (tly_ + 43 base64url chars) secret per bench client: not random, so runs are repeatable. */
export function clientSecret (i: number): string {
  return 'tly_' + `bench${i}_`.padEnd(43, 'x')
}

export function clientId (i: number): string {
  return `bench-client-${i}`
}

/** RFC 6749 §2.3.1: client_id and secret are form-urlencoded, then Basic-encoded. */
export function basicAuth (id: string, secret: string): string {
  return 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')
}

export const FORM = 'application/x-www-form-urlencoded'
