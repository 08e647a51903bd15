// Errors of workload federation. An assertion that fails a check is an AssertionRejected naming the check;
// the grant turns it into 400 invalid_grant with that description (RFC 7521 §4.1.1), client authentication
// into the one 401 invalid_client of docs/reference/endpoints.md with the check in the log only.
import { OAuthError } from '../errors.js'

/** RFC 6749 §5.2 invalid_grant. */
export class InvalidGrant extends OAuthError {
  constructor (description: string, options?: { cause?: unknown }) { super('invalid_grant', description, 400, options) }
}

/** A federated assertion failed `check` (a short, stable, lower-case description; never the token). */
export class AssertionRejected extends Error {
  constructor (readonly check: string, options?: { cause?: unknown }) {
    super(check, options)
    this.name = 'AssertionRejected'
  }
}
