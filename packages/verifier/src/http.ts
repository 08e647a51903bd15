// How the verifier talks to Tally: discovery (RFC 8414), and requests authenticated as its own client —
// client_secret_basic with a secret, or private_key_jwt (RFC 7523 §3) with a fresh assertion each time.
import { importJWK, SignJWT, type CryptoKey, type JWK, type KeyObject } from 'jose'
import { DiscoveryError, TallyHttpError, VerifierConfigError } from './errors.js'

export interface ServerMetadata {
  issuer: string
  jwks_uri: string
  introspection_endpoint?: string
  epochs_endpoint?: string
  token_endpoint?: string
}

export type PrivateKeyInput = CryptoKey | KeyObject | JWK | Uint8Array

export interface ClientCredentials {
  clientId: string
  clientSecret?: string
  privateKey?: PrivateKeyInput
  /** The assertion's `alg`: default the JWK's `alg`, else ES256. */
  privateKeyAlg?: string
}

export { TallyHttpError }

const TIMEOUT_MS = 5000

/** RFC 8414 §3: fetch the metadata and check that it names the issuer we expect. */
export async function discover (issuer: string, serverUrl: string): Promise<ServerMetadata> {
  const url = `${serverUrl}/.well-known/oauth-authorization-server`
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) })
  if (!res.ok) throw new DiscoveryError(`discovery failed with HTTP ${res.status}`, { cause: new TallyHttpError(res.status, url) })
  const metadata = await res.json() as ServerMetadata
  if (metadata.issuer !== issuer) throw new DiscoveryError(`discovery: issuer is ${String(metadata.issuer)}, expected ${issuer}`)
  if (typeof metadata.jwks_uri !== 'string') throw new DiscoveryError('discovery: jwks_uri is missing')
  return metadata
}

/** An endpoint URL from the metadata, re-based onto `serverUrl` when Tally is reached at another address. */
export function rebase (endpoint: string, issuer: string, serverUrl: string): string {
  return serverUrl !== issuer && endpoint.startsWith(issuer) ? serverUrl + endpoint.slice(issuer.length) : endpoint
}

const formEncode = (value: string): string => encodeURIComponent(value).replace(/%20/g, '+')

export class TallyClient {
  #key: Promise<CryptoKey | KeyObject | Uint8Array> | undefined
  #alg: string

  constructor (private readonly credentials: ClientCredentials, private readonly issuer: string) {
    const { clientSecret, privateKey } = credentials
    if ((clientSecret === undefined) === (privateKey === undefined)) throw new VerifierConfigError('give exactly one of clientSecret and privateKey')
    const jwk = privateKey !== undefined && isJwk(privateKey) ? privateKey : undefined
    this.#alg = credentials.privateKeyAlg ?? jwk?.alg ?? 'ES256'
    if (privateKey !== undefined) this.#key = jwk !== undefined ? importJWK(jwk, this.#alg) as Promise<CryptoKey | Uint8Array> : Promise.resolve(privateKey as CryptoKey)
  }

  /** GET needs a secret (Basic); a private key means POST with the assertion in the form. */
  get usesPost (): boolean { return this.credentials.privateKey !== undefined }

  /**
   * Sends an authenticated request: GET with Basic credentials, or POST with the parameters and the
   * client's authentication in a form body. Throws TallyHttpError unless the status is 2xx.
   */
  async request (url: string, params: Record<string, string>, init: { headers?: Record<string, string>, signal?: AbortSignal, forcePost?: boolean } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers }
    let response: Response
    const signal = init.signal
    try {
      if (!this.usesPost && init.forcePost !== true) {
        headers.authorization = this.#basic()
        const query = new URLSearchParams(params).toString()
        response = await fetch(query === '' ? url : `${url}?${query}`, { headers, signal })
      } else {
        const body = new URLSearchParams(params)
        if (this.usesPost) {
          body.set('client_id', this.credentials.clientId)
          body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
          body.set('client_assertion', await this.#assertion())
        } else {
          headers.authorization = this.#basic()
        }
        headers['content-type'] = 'application/x-www-form-urlencoded'
        response = await fetch(url, { method: 'POST', headers, body: body.toString(), signal })
      }
    } catch (err) {
      throw new TallyHttpError(0, `request to ${url} failed`, { cause: err })
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {})
      throw new TallyHttpError(response.status, `${url} answered HTTP ${response.status}`)
    }
    return response
  }

  // RFC 6749 §2.3.1: the client id and secret are form-encoded before the Basic encoding.
  #basic (): string {
    const { clientId, clientSecret } = this.credentials
    return 'Basic ' + btoa(`${formEncode(clientId)}:${formEncode(clientSecret as string)}`)
  }

  // RFC 7523 §3: iss = sub = client_id, aud = the issuer, a single-use jti and a short exp.
  async #assertion (): Promise<string> {
    const key = await (this.#key as Promise<CryptoKey | KeyObject | Uint8Array>)
    const jwk = this.credentials.privateKey as JWK
    return await new SignJWT({})
      .setProtectedHeader({ alg: this.#alg, ...(isJwk(jwk) && typeof jwk.kid === 'string' && { kid: jwk.kid }) })
      .setIssuer(this.credentials.clientId)
      .setSubject(this.credentials.clientId)
      .setAudience(this.issuer)
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(key)
  }
}

function isJwk (key: unknown): key is JWK {
  return typeof key === 'object' && key !== null && !(key instanceof Uint8Array) && typeof (key as JWK).kty === 'string'
}
