// The requests both servers get: client_credentials grants round-robin over the bench clients, and
// introspection of a pool of each server's own tokens by the resource server's identity.
import { basicAuth, clientId, clientSecret, FORM, JWT_RESOURCE, RS_CLIENT_ID, RS_CLIENT_SECRET } from './fixtures.js'
import type { BenchRequest } from './load.js'

const TOKEN_BODY = `grant_type=client_credentials&scope=read%20write&resource=${encodeURIComponent(JWT_RESOURCE)}`

/** Round-robin over the bench clients, each request a client_credentials grant for the JWT resource. */
export function tokenRequests (clients: number): () => BenchRequest {
  const headers = Array.from({ length: clients }, (_v, i) => ({ authorization: basicAuth(clientId(i), clientSecret(i)), 'content-type': FORM }))
  let n = 0
  return () => ({ path: '/token', headers: headers[n++ % clients] as Record<string, string>, body: TOKEN_BODY })
}

/** Round-robin over a pool of tokens, introspected by the resource server's identity. */
export function introspectRequests (pool: string[]): () => BenchRequest {
  const headers = { authorization: basicAuth(RS_CLIENT_ID, RS_CLIENT_SECRET), 'content-type': FORM }
  const bodies = pool.map((t) => `token=${encodeURIComponent(t)}&token_type_hint=access_token`)
  let n = 0
  return () => ({ path: '/introspect', headers, body: bodies[n++ % bodies.length] as string })
}

/** Issues `count` tokens from `url` (concurrency 16), spreading them over the bench clients. */
export async function issueTokens (url: string, count: number, clients: number, resource = JWT_RESOURCE): Promise<string[]> {
  const out: string[] = []
  let next = 0
  const body = `grant_type=client_credentials&scope=read%20write&resource=${encodeURIComponent(resource)}`
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++
      const res = await fetch(`${url}/token`, { method: 'POST', headers: { authorization: basicAuth(clientId(i % clients), clientSecret(i % clients)), 'content-type': FORM }, body })
      const json = await res.json() as { access_token?: string }
      if (res.status !== 200 || json.access_token === undefined) throw new Error(`${url}/token answered ${res.status} ${JSON.stringify(json)}`)
      out.push(json.access_token)
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker))
  return out
}

export async function introspectOnce (url: string, token: string): Promise<{ status: number, body: Record<string, unknown> }> {
  const res = await fetch(`${url}/introspect`, { method: 'POST', headers: { authorization: basicAuth(RS_CLIENT_ID, RS_CLIENT_SECRET), 'content-type': FORM }, body: `token=${encodeURIComponent(token)}` })
  const text = await res.text()
  let body: Record<string, unknown> = {}
  try { body = JSON.parse(text) as Record<string, unknown> } catch {}
  return { status: res.status, body }
}
