// Fetching a platform's discovery document or JWKS without becoming an SSRF gadget: only the URL given
// (configured by an admin, or named by the issuer's own discovery document) is requested, redirects are
// never followed, the wait is bounded, the body is size-limited, and the scheme is https — plain http
// only to a loopback host (tests, local development), where nothing crosses a network.

export interface FetchedJson {
  body: unknown
  /** Seconds the response may be cached for, from Cache-Control max-age or Expires; undefined if unsaid. */
  maxAgeS: number | undefined
}

export interface SafeFetchOptions {
  timeoutMs: number
  maxBytes: number
}

const SAFE_FETCH_DEFAULTS: SafeFetchOptions = {
  timeoutMs: 3000, // 3 seconds: a token request waits at most this for a platform's keys
  maxBytes: 256 * 1024 // 256 KiB: a JWKS of dozens of RSA keys is well under this
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Is this URL one Tally may fetch keys from? https anywhere; http only on loopback. No credentials in it. */
export function fetchableUrl (raw: string): URL | undefined {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return undefined
  }
  if (url.username !== '' || url.password !== '' || url.hash !== '') return undefined
  if (url.protocol === 'https:') return url
  if (url.protocol === 'http:' && (LOOPBACK_HOSTS.has(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname))) return url
  return undefined
}

// RFC 9111 §5.2.2.1 max-age; no-store/no-cache mean "do not reuse" (0); else §5.3 Expires against Date.
export function cacheLifetimeS (headers: Headers): number | undefined {
  const cacheControl = headers.get('cache-control')
  if (cacheControl !== null) {
    const directives = cacheControl.toLowerCase().split(',').map((d) => d.trim())
    if (directives.includes('no-store') || directives.includes('no-cache')) return 0
    const maxAge = directives.map((d) => /^max-age=(\d{1,10})$/.exec(d)).find((m) => m !== null)
    if (maxAge != null) return Number(maxAge[1])
  }
  const expires = headers.get('expires')
  if (expires !== null) {
    const at = Date.parse(expires)
    const date = Date.parse(headers.get('date') ?? '')
    if (Number.isNaN(at)) return 0 // RFC 9111 §5.3: an invalid Expires means "already expired"
    return Math.max(0, Math.floor((at - (Number.isNaN(date) ? Date.now() : date)) / 1000))
  }
  return undefined
}

async function readLimited (response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? NaN)
  if (declared > maxBytes) throw new Error(`response larger than ${maxBytes} bytes`)
  if (response.body === null) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel()
      throw new Error(`response larger than ${maxBytes} bytes`)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** GETs a JSON document from exactly `raw`; throws on anything but a 200 with a JSON body in bounds. */
export async function fetchJson (raw: string, options: SafeFetchOptions = SAFE_FETCH_DEFAULTS): Promise<FetchedJson> {
  const url = fetchableUrl(raw)
  if (url === undefined) throw new Error('URL is not https (or loopback http)')
  const signal = AbortSignal.timeout(options.timeoutMs)
  const response = await fetch(url, { redirect: 'manual', signal, headers: { accept: 'application/json, application/jwk-set+json' } })
  if (response.status !== 200) {
    await response.body?.cancel()
    throw new Error(`HTTP ${response.status} from ${url.origin}${url.pathname}`)
  }
  const text = await readLimited(response, options.maxBytes)
  return { body: JSON.parse(text) as unknown, maxAgeS: cacheLifetimeS(response.headers) }
}
