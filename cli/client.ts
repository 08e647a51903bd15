// The CLI's connection to Tally: where (TALLY_URL / --url) and as whom (TALLY_CLIENT_ID and
// TALLY_CLIENT_SECRET, flags, or the bootstrap file), an admin token from /token (RFC 6749 §4.4) held in
// memory for one command, and admin API calls that turn a server error into a CliError.
import { readFileSync } from 'node:fs'

export class CliError extends Error {
  constructor (message: string, readonly exitCode = 1) { super(message) }
}

export interface GlobalOptions {
  url?: string
  clientId?: string
  clientSecret?: string
  bootstrapFile?: string
  json?: boolean
}

export interface Connection { url: string, clientId?: string, clientSecret?: string }

export function connection (options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Connection {
  const url = (options.url ?? env.TALLY_URL ?? 'http://localhost:8080').replace(/\/+$/, '')
  let clientId = options.clientId ?? env.TALLY_CLIENT_ID
  let clientSecret = options.clientSecret ?? env.TALLY_CLIENT_SECRET
  if (options.bootstrapFile !== undefined) {
    let file: { client_id?: unknown, client_secret?: unknown }
    try {
      file = JSON.parse(readFileSync(options.bootstrapFile, 'utf8'))
    } catch (err) {
      throw new CliError(`cannot read ${options.bootstrapFile}: ${(err as Error).message}`)
    }
    if (typeof file.client_id !== 'string' || typeof file.client_secret !== 'string') throw new CliError(`${options.bootstrapFile} has no client_id and client_secret`)
    clientId = file.client_id
    clientSecret = file.client_secret
  }
  return { url, clientId, clientSecret }
}

/** RFC 6749 §2.3.1: form-urlencode each part before base64. */
export function basicAuth (clientId: string, secret: string): string {
  const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+')
  return 'Basic ' + Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')
}

function serverError (status: number, body: unknown): CliError {
  const b = body as { error?: unknown, error_description?: unknown } | undefined
  if (typeof b?.error === 'string') {
    return new CliError(`${status} ${b.error}${typeof b.error_description === 'string' ? `: ${b.error_description}` : ''}`)
  }
  return new CliError(`${status} ${typeof body === 'string' && body !== '' ? body : 'request failed'}`)
}

async function send (url: string, init: RequestInit): Promise<{ status: number, body: unknown }> {
  let res: Response
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) })
  } catch (err) {
    throw new CliError(`cannot reach ${new URL(url).origin}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`)
  }
  const text = await res.text()
  let body: unknown = text
  if (text !== '') { try { body = JSON.parse(text) } catch {} }
  return { status: res.status, body }
}

export class Tally {
  #token: string | undefined
  constructor (readonly conn: Connection) {}

  credentials (): { clientId: string, clientSecret: string } {
    const { clientId, clientSecret } = this.conn
    if (clientId === undefined || clientSecret === undefined) {
      throw new CliError('no credentials: set TALLY_CLIENT_ID and TALLY_CLIENT_SECRET, pass --client-id and --client-secret, or --bootstrap-file <DATA_DIR>/bootstrap-admin.json')
    }
    return { clientId, clientSecret }
  }

  /** POST a form to an OAuth endpoint with this client's credentials. */
  async oauth (path: string, params: Record<string, string>): Promise<unknown> {
    const { clientId, clientSecret } = this.credentials()
    const { status, body } = await send(this.conn.url + path, {
      method: 'POST',
      headers: { authorization: basicAuth(clientId, clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString()
    })
    if (status !== 200) throw serverError(status, body)
    return body
  }

  async adminToken (): Promise<string> {
    if (this.#token === undefined) {
      const body = await this.oauth('/token', { grant_type: 'client_credentials', resource: 'urn:tally:admin' }) as { access_token: string }
      this.#token = body.access_token
    }
    return this.#token
  }

  async admin (method: string, path: string, payload?: unknown): Promise<any> {
    const token = await this.adminToken()
    const { status, body } = await send(`${this.conn.url}/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(payload !== undefined && { 'content-type': 'application/json' }) },
      ...(payload !== undefined && { body: JSON.stringify(payload) })
    })
    if (status < 200 || status > 299) throw serverError(status, body)
    return body === '' ? undefined : body
  }

  /** Every page of a list. */
  async all (path: string): Promise<any[]> {
    const items: any[] = []
    let cursor: string | null = null
    do {
      const sep = path.includes('?') ? '&' : '?'
      const page: { items: any[], next_cursor: string | null } = await this.admin('GET', cursor === null ? path : `${path}${sep}cursor=${encodeURIComponent(cursor)}`)
      items.push(...page.items)
      cursor = page.next_cursor
    } while (cursor !== null)
    return items
  }
}

/** Query string from the defined values only. */
export function query (params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v))
  const s = q.toString()
  return s === '' ? '' : `?${s}`
}

export const seg = (s: string): string => encodeURIComponent(s)
