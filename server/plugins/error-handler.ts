// The only place that writes error bodies (RFC 6749 §5.2). OAuth errors carry their own status; Fastify's
// own client errors become invalid_request; a database that cannot answer is a 503 with Retry-After;
// anything else is logged and answered as a bare server_error — never a message, stack or SQL text.
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'
import { InvalidClient, InvalidRequest, OAuthError, TemporarilyUnavailable, InvalidToken, InsufficientScope } from '../errors.js'
import { isDatabaseUnavailable } from '../db-errors.js'
import { TooManyRequests } from '../oauth/throttle.js'

function clientErrorDescription (err: FastifyError): string {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return 'the request body is too large'
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return 'unsupported content type'
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return 'the request body is empty'
    case 'FST_ERR_CTP_INVALID_JSON_BODY': return 'the request body is not valid JSON'
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH': return 'the content length does not match the body'
    default: return err.validation !== undefined ? validationDescription(err) : 'the request is malformed'
  }
}

// Ajv's additionalProperties message ("body must NOT have additional properties") does not say which
// member; docs/reference/admin-api.md wants a bad body's message to name the field.
function validationDescription (err: FastifyError): string {
  const first = err.validation?.[0] as { keyword?: string, instancePath?: string, params?: { additionalProperty?: unknown } } | undefined
  const member = first?.params?.additionalProperty
  if (first?.keyword === 'additionalProperties' && typeof member === 'string') {
    return `${err.validationContext ?? 'body'}${first.instancePath ?? ''}/${member.slice(0, 64)} is not allowed`
  }
  return err.message
}

function toOAuthError (err: FastifyError): OAuthError | undefined {
  if (err instanceof OAuthError) return err
  if (err.validation !== undefined) return new InvalidRequest(clientErrorDescription(err))
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    const mapped = new InvalidRequest(clientErrorDescription(err), { cause: err })
    return err.statusCode === 413 ? Object.assign(mapped, { statusCode: 413 }) : mapped
  }
  if (isDatabaseUnavailable(err)) return new TemporarilyUnavailable({ cause: err })
  return undefined
}

async function errorHandlerPlugin (app: FastifyInstance): Promise<void> {
  const realm = `realm="${app.tally?.config.issuer ?? ''}"`
  app.setErrorHandler(function handleError (err: FastifyError, request, reply) {
    const oauth = toOAuthError(err)
    if (oauth === undefined) {
      request.log.error({ err }, 'unhandled error')
      return reply.code(500).send({ error: 'server_error', error_description: 'internal server error' })
    }
    if (oauth.statusCode >= 500) request.log.warn({ err: oauth.cause ?? oauth }, 'database unavailable')
    else request.log.info({ error: oauth.error, cause: oauth.cause instanceof Error ? oauth.cause.message : oauth.cause }, oauth.message)
    if (oauth instanceof InvalidClient) reply.header('www-authenticate', `Basic ${realm}`)
    // RFC 6750 §3: bearer-token errors name the problem in WWW-Authenticate.
    if (oauth instanceof InvalidToken && oauth.missing) {
      reply.header('www-authenticate', `Bearer ${realm}`)
    } else if (oauth instanceof InvalidToken || oauth instanceof InsufficientScope) {
      reply.header('www-authenticate', `Bearer ${realm}, error="${oauth.error}", error_description="${oauth.message}"`)
    }
    if (oauth instanceof TemporarilyUnavailable) reply.header('retry-after', String(app.tally?.config.retryAfterS ?? 2))
    if (oauth instanceof TooManyRequests) reply.header('retry-after', String(oauth.retryAfterS))
    return reply.code(oauth.statusCode).send(oauth.toJSON())
  })

  app.setNotFoundHandler(function notFound (request, reply) {
    return reply.code(404).send({ error: 'not_found', error_description: 'no such endpoint' })
  })
}

export default fp(errorHandlerPlugin, { name: 'error-handler', dependencies: ['tally'] })
