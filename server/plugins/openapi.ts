// OpenAPI 3 description of the admin API, generated from the route schemas (@fastify/swagger) and served
// at GET /openapi.json. Must be registered before the routes it describes.
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import { OPERATIONS, operationKey } from './openapi-operations.js'

async function openapiPlugin (app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: { title: 'Tally admin API', version: '0.1.0', description: 'Admin API of Tally (docs/reference/admin-api.md). Bearer: a Tally access token for urn:tally:admin.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }]
    },
    // Only the admin API is described here; the OAuth endpoints are described by RFC 8414 metadata.
    // Summaries and descriptions come from one table (openapi-operations.ts), not from each route file.
    transform: ({ schema, url, route }) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method]
      const text = methods.map((method) => OPERATIONS.get(operationKey(method, url))).find((found) => found !== undefined)
      return { schema: { ...text, ...schema, hide: !url.startsWith('/admin') } as typeof schema, url }
    }
  })
  app.get('/openapi.json', { schema: { hide: true } }, async function openapiDocument (_request, reply) {
    reply.header('cache-control', 'public, max-age=300').removeHeader('pragma')
    return app.swagger()
  })
}

export default fp(openapiPlugin, { name: 'openapi' })
