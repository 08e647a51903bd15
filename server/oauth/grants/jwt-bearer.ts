// RFC 7523 §2.1 JWT bearer grant with a platform's token (docs/reference/federation.md): the assertion IS the authentication,
// so no other client authentication is allowed; client_id only picks the identity when the assertion
// matches federated credentials of several. The token is then minted exactly as for client_credentials,
// with the entitlements the assertion's live context satisfies and no later exp than the assertion's.
import { InvalidRequest, UnsupportedGrantType } from '../../errors.js'
import { AssertionRejected, InvalidGrant } from '../../federation/errors.js'
import { verifyFederatedAssertion } from '../../federation/verify-assertion.js'
import { authenticateClient, type AuthenticatedClient, type ClientAuthContext, type PresentedCredentials } from '../client-auth.js'
import type { FormParams } from '../form.js'
import { handler as mintForClient } from './client-credentials.js'

export const grantType = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
export const parameters = ['assertion', 'scope', 'resource', 'audience', 'client_id']

export async function authenticate (ctx: ClientAuthContext, presented: PresentedCredentials | undefined, params: FormParams, sourceAddress?: string): Promise<AuthenticatedClient> {
  if (presented !== undefined) {
    // docs/reference/endpoints.md: client authentication comes before the grant, so bad credentials are still a 401; good
    // ones are refused all the same — the assertion is this grant's only authentication (docs/reference/federation.md).
    await authenticateClient(ctx, presented, { sourceAddress, endpoint: '/token' })
    throw new InvalidRequest('client authentication is not allowed with the jwt-bearer grant')
  }
  if (ctx.federation === undefined) throw new UnsupportedGrantType()
  // RFC 7521 §4.1: assertion REQUIRED.
  if (params.assertion === undefined) throw new InvalidRequest('assertion is required')
  try {
    const verified = await verifyFederatedAssertion(ctx.federation, params.assertion, params.client_id)
    return {
      client: verified.client,
      credentialId: verified.credentialId,
      method: 'private_key_jwt',
      federated: { ctx: verified.ctx, exp: verified.exp }
    }
  } catch (err) {
    // RFC 7521 §4.1.1: invalid_grant, saying which check failed — never echoing the assertion.
    if (err instanceof AssertionRejected) throw new InvalidGrant(err.check, { cause: err.cause })
    throw err
  }
}

export const handler = mintForClient
