// Where a trust's keys are: its configured jwks_uri, else the one its issuer publishes in OpenID Connect
// Discovery 1.0 (`<issuer>/.well-known/openid-configuration`), else in RFC 8414 authorization server
// metadata (`/.well-known/oauth-authorization-server`, inserted before the issuer's path per RFC 8414 §3.1).
import { fetchableUrl, fetchJson, type FetchedJson } from './safe-fetch.js'

export type JsonFetcher = (url: string) => Promise<FetchedJson>

export function discoveryUrls (issuer: string): string[] {
  const base = issuer.replace(/\/+$/, '')
  const url = new URL(base)
  const path = url.pathname === '/' ? '' : url.pathname
  return [`${base}/.well-known/openid-configuration`, `${url.origin}/.well-known/oauth-authorization-server${path}`]
}

/** The issuer's jwks_uri from its metadata; throws when neither document names a usable one. */
export async function discoverJwksUri (issuer: string, fetcher: JsonFetcher = fetchJson): Promise<string> {
  const failures: string[] = []
  for (const url of discoveryUrls(issuer)) {
    try {
      const { body } = await fetcher(url)
      const doc = body as { issuer?: unknown, jwks_uri?: unknown }
      // OIDC Discovery §4.3 / RFC 8414 §3.3: the issuer value returned MUST be identical to the one used.
      if (doc?.issuer !== issuer) throw new Error('metadata issuer differs from the trust issuer')
      if (typeof doc.jwks_uri !== 'string' || fetchableUrl(doc.jwks_uri) === undefined) throw new Error('metadata jwks_uri is missing or not https')
      return doc.jwks_uri
    } catch (err) {
      failures.push(`${url}: ${(err as Error).message}`)
    }
  }
  throw new Error(`no usable discovery document (${failures.join('; ')})`)
}
