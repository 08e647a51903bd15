// RFC 7517 JWK Set: the public halves of the active, next and unexpired retired keys.
import type { FastifyInstance } from 'fastify'

export default async function jwksRoute (app: FastifyInstance): Promise<void> {
  app.get('/.well-known/jwks.json', async function jwks (_request, reply) {
    // Short cache: a verifier that meets an unknown kid refetches, and a next key is published in advance.
    reply.header('cache-control', 'public, max-age=60').removeHeader('pragma').type('application/jwk-set+json')
    return app.tally.keys.publicJwks()
  })
}
