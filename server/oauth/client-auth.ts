// Client authentication for /token, /introspect, /revoke and the feed (RFC 6749 §2.3, RFC 7523 §3).
// Exactly one method per request. Every failure is the same InvalidClient, and an unknown client costs
// the same work as a wrong secret, so neither the body, the status nor the timing tells them apart.
import type { Db } from '../store/database.js'
import type { Client, ClientLoader, SessionState, TokenRef } from '../store/clients.js'
import { digestsEqual, hashSecret } from '../keys/crypto.js'
import { InvalidClient, InvalidRequest } from '../errors.js'
import { assertionIssuer, verifyClientAssertion } from './client-assertion.js'
import { hasControlCharacters, isClientId } from './safe-text.js'
import type { FormParams } from './form.js'
import type { AuthThrottle } from './throttle.js'
import type { Context } from '../entitlements/context.js'
import type { FederationDeps } from '../federation/verify-assertion.js'
import { authenticateFederatedClient, isFederatedAssertion } from '../federation/client-authentication.js'

export type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt'
export const AUTH_METHODS: AuthMethod[] = ['client_secret_basic', 'client_secret_post', 'private_key_jwt']

export type PresentedCredentials =
  | { method: 'client_secret_basic' | 'client_secret_post', clientId: string, secret: string }
  | { method: 'private_key_jwt', clientId: string | undefined, assertion: string }

export interface AuthenticatedClient {
  client: Client
  credentialId: string
  method: AuthMethod
  /** The presented token's session state, when a TokenRef was given (read in the same round trip). */
  session?: SessionState | null
  /** Set when a platform's assertion authenticated the request (docs/reference/federation.md): its live context and its exp. */
  federated?: { ctx: Context, exp: number }
}

export interface ClientAuthContext {
  db: Db
  clients: ClientLoader
  secretHashKey: Buffer
  issuer: string
  tokenEndpoint: string
  throttle?: AuthThrottle
  /** Called once per failed authentication (metrics). */
  onFailure?: (method: AuthMethod | 'none') => void
  /** Workload federation (docs/reference/federation.md): trusted platforms' assertions, when enabled. */
  federation?: FederationDeps
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
// Hashes of an unknown client's "credential" are compared against this, so both paths do the same work.
const DUMMY_DIGEST = Buffer.alloc(32)

// RFC 6749 §2.3.1: client_id and secret are form-urlencoded before Basic encoding.
function formDecode (value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '))
  } catch (err) {
    throw new InvalidClient({ cause: err })
  }
}

/**
 * The Basic credentials (RFC 7617 §2) as client_id and secret. They split at the LAST raw ":": Tally's
 * secrets never contain one, and many clients (authlib, Python requests) do not form-encode a client_id
 * like `urn:svc:a`, so both `urn:svc:a:<secret>` and `urn%3Asvc%3Aa:<secret>` work (docs/reference/endpoints.md).
 */
function basicCredentials (authorization: string): { clientId: string, secret: string } {
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(authorization.trim())
  if (match === null) throw new InvalidClient({ cause: 'malformed Authorization header' })
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8')
  const colon = decoded.lastIndexOf(':')
  if (colon < 0) throw new InvalidClient({ cause: 'Basic credentials without a colon' })
  const clientId = formDecode(decoded.slice(0, colon))
  const secret = formDecode(decoded.slice(colon + 1))
  // docs/reference/endpoints.md: a NUL or control character in a credential is a client error, refused before any lookup.
  if (hasControlCharacters(clientId) || hasControlCharacters(secret)) throw new InvalidClient({ cause: 'control characters in Basic credentials' })
  return { clientId, secret }
}

/** Reads which credentials the request presents; throws InvalidRequest when there is more than one method. */
export function presentedCredentials (authorization: string | undefined, params: FormParams): PresentedCredentials | undefined {
  const found: PresentedCredentials[] = []
  const bodyClientId = params.client_id
  if (authorization !== undefined) {
    found.push({ method: 'client_secret_basic', ...basicCredentials(authorization) })
  }
  if (params.client_secret !== undefined) {
    if (bodyClientId === undefined) throw new InvalidRequest('client_secret requires client_id')
    found.push({ method: 'client_secret_post', clientId: bodyClientId, secret: params.client_secret })
  }
  if (params.client_assertion !== undefined || params.client_assertion_type !== undefined) {
    if (params.client_assertion_type !== JWT_BEARER) throw new InvalidRequest('client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
    if (params.client_assertion === undefined) throw new InvalidRequest('client_assertion is required with client_assertion_type')
    found.push({ method: 'private_key_jwt', clientId: bodyClientId, assertion: params.client_assertion })
  }
  if (found.length > 1) throw new InvalidRequest('only one client authentication method may be used')
  const presented = found[0]
  // A client_id in the body must name the same client as the credentials.
  if (presented !== undefined && bodyClientId !== undefined && presented.clientId !== undefined && presented.clientId !== bodyClientId) {
    throw new InvalidRequest('client_id does not match the client credentials')
  }
  return presented
}

function secretMatches (client: Client | undefined, digest: Buffer): string | undefined {
  let matched: string | undefined
  const secrets = client?.credentials.filter((c) => c.type === 'client_secret') ?? []
  if (secrets.length === 0) digestsEqual(DUMMY_DIGEST, digest)
  // No early exit: every active secret is compared, whichever matches.
  for (const credential of secrets) {
    if (digestsEqual(credential.secretHash as Buffer, digest)) matched = credential.id
  }
  return matched
}

/** Where the request came from and which endpoint it called (an assertion may name that endpoint as aud). */
export interface AuthRequest {
  /** The client's address (request.ip: behind TRUST_PROXY, from X-Forwarded-For). */
  sourceAddress: string | undefined
  /** The path called, e.g. `/introspect`. */
  endpoint: string
}

/**
 * RFC 6749 §2.3: authenticate the client presented by the request. Returns the identity with its
 * entitlements (loaded in one round trip) or throws InvalidClient — or, once the source address or the
 * presented client_id has failed too often, TooManyRequests in its place (see throttle.ts). A correct
 * credential always succeeds.
 */
export async function authenticateClient (ctx: ClientAuthContext, presented: PresentedCredentials | undefined, request: AuthRequest): Promise<AuthenticatedClient> {
  return await authenticate(ctx, presented, request, undefined)
}

/**
 * Introspection in ONE database round trip: authenticates the caller exactly as authenticateClient does
 * and, in the same grouped statement, reads the presented token's session state (store/clients.ts).
 */
export async function authenticateCallerAndReadToken (ctx: ClientAuthContext, presented: PresentedCredentials | undefined, request: AuthRequest, token: TokenRef | undefined): Promise<AuthenticatedClient & { session: SessionState | null }> {
  const auth = await authenticate(ctx, presented, request, token)
  return { ...auth, session: auth.session ?? null }
}

async function authenticate (ctx: ClientAuthContext, presented: PresentedCredentials | undefined, request: AuthRequest, token: TokenRef | undefined): Promise<AuthenticatedClient> {
  try {
    return await verifyPresented(ctx, presented, request, token)
  } catch (err) {
    if (err instanceof InvalidClient) {
      ctx.onFailure?.(presented?.method ?? 'none')
      ctx.throttle?.recordFailure(request.sourceAddress, throttledClientId(presented))
    }
    throw err
  }
}

/** The client_id whose failures are counted, for every method (the assertion's unverified iss for private_key_jwt). */
function throttledClientId (presented: PresentedCredentials | undefined): string | undefined {
  if (presented === undefined) return undefined
  if (presented.method === 'private_key_jwt') return presented.clientId ?? assertionIssuer(presented.assertion)
  return presented.clientId
}

async function verifyPresented (ctx: ClientAuthContext, presented: PresentedCredentials | undefined, request: AuthRequest, token: TokenRef | undefined): Promise<AuthenticatedClient> {
  if (presented === undefined) throw new InvalidClient({ cause: 'no client authentication' })
  if (presented.method === 'private_key_jwt') {
    if (ctx.federation !== undefined && isFederatedAssertion(presented.assertion, presented.clientId)) {
      return await authenticateFederatedClient(ctx.federation, presented.assertion, presented.clientId, token)
    }
    const audiences = { issuer: ctx.issuer, tokenEndpoint: ctx.tokenEndpoint, calledEndpoint: `${ctx.issuer}${request.endpoint}` }
    const { client, credentialId, session } = await verifyClientAssertion(ctx, presented.assertion, presented.clientId, audiences, token)
    return { client, credentialId, method: presented.method, session }
  }
  const digest = hashSecret(ctx.secretHashKey, presented.secret)
  // A client_id that cannot exist (docs/reference/concepts.md) is never looked up: it cannot reach SQL, nor fail a grouped statement.
  // Its quicker answer tells nothing about existence: the admin API accepts only that pattern (docs/security.md).
  const { client, session } = isClientId(presented.clientId) ? await ctx.clients.load(presented.clientId, token) : { client: undefined, session: null }
  const credentialId = secretMatches(client, digest)
  if (client === undefined || credentialId === undefined) throw new InvalidClient({ cause: 'unknown client or wrong secret' })
  if (client.status !== 'active') throw new InvalidClient({ cause: 'identity is not active' })
  return { client, credentialId, method: presented.method, session }
}
