// RFC 7523 §2.2 with a platform's JWT (docs/reference/federation.md): wherever private_key_jwt is accepted, a client_assertion
// whose iss is not the client itself but a trusted platform is a federated assertion. Every failure is §3's
// one invalid_client; which check failed goes to the log only (the error's cause).
import { InvalidClient } from '../errors.js'
import type { AuthenticatedClient } from '../oauth/client-auth.js'
import type { TokenRef } from '../store/clients.js'
import { AssertionRejected } from './errors.js'
import { verifyFederatedAssertion, type FederationDeps } from './verify-assertion.js'

interface PeekedClaims { iss?: unknown, sub?: unknown }

function peekClaims (assertion: string): PeekedClaims | undefined {
  const payload = assertion.split('.')[1]
  if (payload === undefined) return undefined
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    return typeof claims === 'object' && claims !== null ? claims as PeekedClaims : undefined
  } catch {
    return undefined
  }
}

/**
 * Is this client_assertion a platform's (federated) rather than the client's own private_key_jwt? Its own
 * has iss = sub = client_id (RFC 7523 §3); a platform's iss names the platform.
 */
export function isFederatedAssertion (assertion: string, clientId: string | undefined): boolean {
  const claims = peekClaims(assertion)
  if (claims === undefined || typeof claims.iss !== 'string') return false
  return clientId !== undefined ? claims.iss !== clientId : claims.iss !== claims.sub
}

export async function authenticateFederatedClient (deps: FederationDeps, assertion: string, clientId: string | undefined, token?: TokenRef): Promise<AuthenticatedClient> {
  try {
    const verified = await verifyFederatedAssertion(deps, assertion, clientId, token)
    return {
      client: verified.client,
      credentialId: verified.credentialId,
      method: 'private_key_jwt',
      session: verified.session,
      federated: { ctx: verified.ctx, exp: verified.exp }
    }
  } catch (err) {
    if (err instanceof AssertionRejected) throw new InvalidClient({ cause: `federated assertion: ${err.check}` })
    throw err
  }
}
