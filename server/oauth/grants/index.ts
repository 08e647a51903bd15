// Grant registry keyed by grant_type (RFC 6749 §4). Adding a grant is one more module here.
import type { Config } from '../../config.js'
import type { KeyRing } from '../../keys/key-ring.js'
import type { SessionWriter } from '../../store/session-writer.js'
import type { AuthenticatedClient, ClientAuthContext, PresentedCredentials } from '../client-auth.js'
import type { FormParams } from '../form.js'
import * as clientCredentials from './client-credentials.js'
import * as jwtBearer from './jwt-bearer.js'
import * as tokenExchange from './token-exchange.js'
import type { Db } from '../../store/database.js'

export interface GrantContext {
  config: Config
  keys: KeyRing
  sessions: SessionWriter
  db: Db
}

export interface GrantRequest {
  auth: AuthenticatedClient
  params: FormParams
  resources: string[]
}

export interface TokenResponse {
  access_token: string
  /** RFC 8693 §2.2.1, token exchange only. */
  issued_token_type?: string
  token_type: 'Bearer'
  expires_in: number
  scope: string
}

/** A grant module (RFC 6749 §4): its grant_type, its extra parameters and its handler. */
export interface GrantModule {
  grantType: string
  parameters: string[]
  handler: (ctx: GrantContext, request: GrantRequest) => Promise<TokenResponse>
  /** A grant that authenticates the request itself (RFC 7523 §2.1), instead of client authentication. */
  authenticate?: (ctx: ClientAuthContext, presented: PresentedCredentials | undefined, params: FormParams, sourceAddress?: string) => Promise<AuthenticatedClient>
}

export const grants: Record<string, GrantModule> = {
  [clientCredentials.grantType]: clientCredentials,
  [jwtBearer.grantType]: jwtBearer,
  [tokenExchange.grantType]: tokenExchange
}
