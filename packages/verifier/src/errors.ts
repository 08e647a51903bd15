// Errors the verifier throws, each with a stable `code` to branch on (as jose's errors carry
// `ERR_JWKS_TIMEOUT` and the like): messages may change between versions, codes do not.

/** Base class: every error this package throws at setup or on a request to Tally. */
export class TallyVerifierError extends Error {
  /** A stable identifier of the kind of failure. */
  readonly code: string = 'ERR_TALLY_VERIFIER'
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}

/** The options given to `createVerifier` cannot work (say, both or neither of clientSecret and privateKey). */
export class VerifierConfigError extends TallyVerifierError {
  override readonly code = 'ERR_TALLY_VERIFIER_CONFIG'
}

/** Discovery (RFC 8414) failed or the metadata does not describe the expected issuer and endpoints. */
export class DiscoveryError extends TallyVerifierError {
  override readonly code = 'ERR_TALLY_VERIFIER_DISCOVERY'
}

/** A request to Tally failed with this status (0: no answer at all). */
export class TallyHttpError extends TallyVerifierError {
  override readonly code = 'ERR_TALLY_VERIFIER_HTTP'
  constructor (readonly status: number, message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}
