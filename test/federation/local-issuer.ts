// A small platform issuer on 127.0.0.1 for the federation tests: a jose key pair, OIDC discovery (or RFC
// 8414 metadata, or none) and a JWKS over real HTTP, and tokens shaped exactly like the platforms' own —
// Kubernetes projected service-account tokens and GitHub Actions OIDC tokens (claim sets from their docs).
import { createServer, type Server } from 'node:http'
import { randomUUID } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'

interface Teardown { teardown: (fn: () => unknown) => void }

export interface LocalIssuerOptions {
  alg?: 'RS256' | 'ES256'
  /** Which metadata document answers: OIDC discovery (default), RFC 8414 only, or none. */
  discovery?: 'oidc' | 'oauth' | 'none'
  /** Cache-Control sent with the JWKS. */
  cacheControl?: string
  /** Path of the issuer (for issuers like https://host/path). */
  path?: string
}

export interface LocalIssuer {
  issuer: string
  jwksUri: string
  origin: string
  /** Requests seen, by path. */
  hits: Map<string, number>
  /** Replaces the handler of one path (status, headers, body) — for failure, redirect and size tests. */
  override: (path: string, answer: ((res: import('node:http').ServerResponse) => void) | undefined) => void
  sign: (claims: Record<string, unknown>, header?: Record<string, unknown>, key?: { privateKey: CryptoKey, kid: string }) => Promise<string>
  /** Adds a new signing key to the JWKS (or not, with publish=false) and signs with it from now on. */
  rotate: (publish?: boolean) => Promise<void>
  kid: () => string
  close: () => Promise<void>
}

export async function startLocalIssuer (t: Teardown, options: LocalIssuerOptions = {}): Promise<LocalIssuer> {
  const alg = options.alg ?? 'RS256'
  const keys: Array<{ privateKey: CryptoKey, publicJwk: JWK, kid: string }> = []
  const published: JWK[] = []
  async function addKey (publish: boolean): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
    const kid = randomUUID()
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
    keys.push({ privateKey, publicJwk, kid })
    if (publish) published.push(publicJwk)
  }
  await addKey(true)

  const hits = new Map<string, number>()
  const overrides = new Map<string, (res: import('node:http').ServerResponse) => void>()
  let origin = ''
  const path = options.path ?? ''
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/'
    hits.set(url, (hits.get(url) ?? 0) + 1)
    const override = overrides.get(url)
    if (override !== undefined) { override(res); return }
    const json = (body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(200, { 'content-type': 'application/json', ...headers })
      res.end(JSON.stringify(body))
    }
    const metadata = { issuer: origin + path, jwks_uri: `${origin}${path}/jwks`, response_types_supported: ['id_token'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: [alg] }
    if (url === `${path}/.well-known/openid-configuration` && (options.discovery ?? 'oidc') === 'oidc') return json(metadata)
    if (url === `/.well-known/oauth-authorization-server${path}` && options.discovery === 'oauth') return json(metadata)
    if (url === `${path}/jwks`) return json({ keys: published }, options.cacheControl !== undefined ? { 'cache-control': options.cacheControl } : {})
    res.writeHead(404, { 'content-type': 'application/json' })
    res.end('{"error":"not found"}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const close = async (): Promise<void> => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  t.teardown(close)

  return {
    issuer: origin + path,
    jwksUri: `${origin}${path}/jwks`,
    origin,
    hits,
    override: (p, answer) => { if (answer === undefined) overrides.delete(p); else overrides.set(p, answer) },
    sign: async (claims, header = {}, key) => {
      const signer = key ?? keys[keys.length - 1] as { privateKey: CryptoKey, kid: string }
      return await new SignJWT(claims).setProtectedHeader({ alg, kid: signer.kid, ...header }).sign(signer.privateKey)
    },
    rotate: async (publish = true) => { await addKey(publish) },
    kid: () => (keys[keys.length - 1] as { kid: string }).kid,
    close
  }
}

const now = (): number => Math.floor(Date.now() / 1000)

/**
 * The claims of a Kubernetes projected service-account token (kubernetes.io docs, "Service account token
 * volume projection" / TokenRequest), for `namespace`/`serviceAccount`, bound to a pod on a node.
 */
export function kubernetesClaims (issuer: string, audience: string, namespace: string, serviceAccount: string, lifetimeS = 3600): Record<string, unknown> {
  const iat = now()
  return {
    aud: [audience],
    exp: iat + lifetimeS,
    iat,
    iss: issuer,
    jti: randomUUID(),
    'kubernetes.io': {
      namespace,
      node: { name: 'kind-control-plane', uid: randomUUID() },
      pod: { name: `${serviceAccount}-7c9b8d5f4-x2x9q`, uid: randomUUID() },
      serviceaccount: { name: serviceAccount, uid: randomUUID() }
    },
    nbf: iat,
    sub: `system:serviceaccount:${namespace}:${serviceAccount}`
  }
}

/**
 * The claims of a GitHub Actions OIDC token (docs.github.com, "About security hardening with OpenID
 * Connect"), for a job of `repository` running in `environment`. Its header carries typ JWT and x5t too.
 */
export function githubActionsClaims (issuer: string, audience: string, repository: string, environment: string | undefined): Record<string, unknown> {
  const iat = now()
  const [owner] = repository.split('/') as [string]
  return {
    jti: randomUUID(),
    sub: environment !== undefined ? `repo:${repository}:environment:${environment}` : `repo:${repository}:ref:refs/heads/main`,
    ...(environment !== undefined && { environment }),
    aud: audience,
    ref: 'refs/heads/main',
    sha: 'example-sha',
    repository,
    repository_owner: owner,
    actor_id: '12',
    repository_visibility: 'private',
    repository_id: '74',
    repository_owner_id: '65',
    run_id: 'example-run-id',
    run_number: '10',
    run_attempt: '2',
    runner_environment: 'github-hosted',
    actor: 'octocat',
    workflow: 'example-workflow',
    head_ref: '',
    base_ref: '',
    event_name: 'workflow_dispatch',
    ref_type: 'branch',
    workflow_ref: `${repository}/.github/workflows/deploy.yml@refs/heads/main`,
    job_workflow_ref: `${repository}/.github/workflows/deploy.yml@refs/heads/main`,
    iss: issuer,
    nbf: iat - 5,
    exp: iat + 300,
    iat
  }
}
