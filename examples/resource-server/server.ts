// A tiny resource server that checks Tally tokens locally with the verifier library: no call to Tally on
// the request path, yet a revoked or narrowed token is refused within milliseconds. See README.md.
import Fastify from 'fastify'
// In your own project: import { createVerifier, tallyAuth } from 'tally-verifier'
import { createVerifier, tallyAuth } from '../../packages/verifier/src/index.js'

function required (name: string): string {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`${name} is required`)
  return value
}

const verifier = await createVerifier({
  issuer: process.env.TALLY_ISSUER ?? 'http://localhost:8080',
  serverUrl: process.env.TALLY_URL, // only if Tally is reached at another address than its issuer
  audience: process.env.AUDIENCE ?? 'https://orders.example',
  clientId: required('RS_CLIENT_ID'), // this server's identity: an introspector of AUDIENCE
  clientSecret: required('RS_CLIENT_SECRET'),
  onError: (err) => app.log.warn({ err }, 'epoch feed connection problem; retrying')
})

const app = Fastify({ logger: true })

app.get('/orders', { preHandler: tallyAuth(verifier, { scopes: ['read'] }) }, async (request) => {
  return { orders: [], caller: request.tallyToken?.client_id }
})

app.post('/orders', { preHandler: tallyAuth(verifier, { scopes: ['write'] }) }, async (request, reply) => {
  return await reply.code(201).send({ created: true, caller: request.tallyToken?.client_id })
})

app.get('/healthz', async () => ({ feed_staleness_ms: verifier.stalenessMs }))

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void app.close().then(async () => await verifier.close()).then(() => process.exit(0))
  })
}

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
