// application/x-www-form-urlencoded for the OAuth endpoints (docs/reference/endpoints.md): a 64 KiB limit, strict parsing,
// and a preHandler that refuses any other media type with invalid_request. The media type is matched
// case-insensitively (RFC 9110 §8.3.1).
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { InvalidRequest } from '../errors.js'
import { parseForm, type ParsedForm } from '../oauth/form.js'

export const FORM_BODY_LIMIT = 64 * 1024

declare module 'fastify' {
  interface FastifyRequest {
    form: ParsedForm
  }
}

const FORM = /^application\/x-www-form-urlencoded\s*(;|$)/i

/** preHandler for OAuth endpoints: the body must be a form (possibly empty only if the route allows it). */
export async function requireForm (request: FastifyRequest): Promise<void> {
  const type = request.headers['content-type']
  if (type === undefined || !FORM.test(type)) throw new InvalidRequest('the request body must be application/x-www-form-urlencoded')
  request.form = parseForm(typeof request.body === 'string' ? request.body : '')
}

async function formBodyPlugin (app: FastifyInstance): Promise<void> {
  app.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) => {
    done(null, body)
  })
}

export default fp(formBodyPlugin, { name: 'form-body' })
