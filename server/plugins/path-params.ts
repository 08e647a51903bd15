// Path parameters (`/admin/identities/:id`) reach SQL as text: one holding a NUL, which Postgres refuses
// (a 500 otherwise), or another control character, is refused first with a 400 naming the parameter. The
// names are the routes' own, so naming them echoes nothing the client chose.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { InvalidRequest } from '../errors.js'
import { hasControlCharacters } from '../oauth/safe-text.js'

async function refuseControlCharactersInParams (request: FastifyRequest): Promise<void> {
  const params = request.params as Record<string, unknown> | undefined
  if (params === undefined || params === null) return
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === 'string' && hasControlCharacters(value)) throw new InvalidRequest(`params/${name} must not contain NUL or control characters`)
  }
}

async function pathParamsPlugin (app: FastifyInstance): Promise<void> {
  // preValidation: before the schema and before any preHandler that could read the store.
  app.addHook('preValidation', refuseControlCharactersInParams)
}

export default fp(pathParamsPlugin, { name: 'path-params' })
