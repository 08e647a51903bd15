// The epoch feed (docs/reference/epoch-feed.md): GET /epochs (snapshot), GET /epochs?after=&wait= (long-poll) and
// GET /epochs/stream (server-sent events), each also as POST with a form body so that every client
// authentication method works. Callers: introspectors of at least one resource, and admins.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Gone, InvalidRequest, OAuthError } from '../errors.js'
import { authenticateClient, presentedCredentials } from '../oauth/client-auth.js'
import { describeParameter, type FormParams } from '../oauth/form.js'
import { requireForm } from '../plugins/form-body.js'
import { ADMIN_RESOURCE, heldScopes } from '../store/clients.js'
import { decodeCursor, encodeCursor } from '../feed/cursor.js'
import { cursorIsKept, readEventsAfter, readSnapshot } from '../feed/events.js'
import { readOrWait } from '../feed/long-poll.js'
import { streamEvents } from '../feed/stream.js'

const MAX_WAIT_S = 30
// A removed key is listed while a token it signed could still be unexpired on a skewed clock.
const KEY_CLOCK_SKEW_S = 60
const WAIT = /^\d{1,2}(\.\d{1,3})?$/

/** docs/reference/epoch-feed.md: the caller must introspect at least one resource, or be an admin (admin:read). */
async function authorizeFeedCaller (app: FastifyInstance, request: FastifyRequest, params: FormParams): Promise<void> {
  const presented = presentedCredentials(request.headers.authorization, params)
  const { client } = await authenticateClient(app.tally.clientAuth, presented, { sourceAddress: request.ip, endpoint: request.routeOptions.url ?? '/epochs' })
  if (client.introspects.length === 0 && !heldScopes(client, ADMIN_RESOURCE).has('admin:read')) {
    throw new OAuthError('unauthorized_client', 'the client may not read the epoch feed', 403)
  }
}

function parseCursor (value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined
  const seq = decodeCursor(value)
  if (seq === undefined) throw new InvalidRequest(`${name} is not a valid cursor`)
  return seq
}

function parseWait (value: string | undefined): number {
  if (value === undefined) return 0
  if (!WAIT.test(value) || Number(value) > MAX_WAIT_S) throw new InvalidRequest(`wait must be a number of seconds from 0 to ${MAX_WAIT_S}`)
  return Number(value) * 1000
}

/** Query parameters of a GET: no repeats, as for the form body. Credentials never travel in a URL. */
function queryParams (request: FastifyRequest): FormParams {
  const params: FormParams = Object.create(null)
  for (const [name, value] of Object.entries(request.query as Record<string, string | string[]>)) {
    if (Array.isArray(value)) throw new InvalidRequest(describeParameter('duplicate parameter', name))
    if (value !== '') params[name] = value
  }
  return params
}

async function epochsRoutes (app: FastifyInstance): Promise<void> {
  const { db, config } = app.tally
  const feed = app.epochFeed

  // A GET authenticates with its Authorization header only; a POST with any method its form carries.
  const credentialParams = (request: FastifyRequest, params: FormParams): FormParams => request.method === 'POST' ? params : {}

  async function epochs (request: FastifyRequest, reply: FastifyReply, params: FormParams): Promise<object> {
    await authorizeFeedCaller(app, request, credentialParams(request, params))
    const afterSeq = parseCursor(params.after, 'after')
    const waitMs = parseWait(params.wait)
    if (afterSeq === undefined) {
      if (params.wait !== undefined) throw new InvalidRequest('wait requires after')
      const snapshot = await readSnapshot(db, config.tokenTtlMaxS + KEY_CLOCK_SKEW_S)
      return {
        cursor: encodeCursor(snapshot.seq),
        epochs: snapshot.epochs,
        revoked: snapshot.revoked,
        removed_keys: snapshot.removedKeys,
        max_staleness_s: config.feedMaxStalenessS
      }
    }
    const aborted = new AbortController()
    reply.raw.once('close', () => aborted.abort())
    const events = await readOrWait(db, feed, afterSeq, waitMs, aborted.signal)
    // Woken by shutdown: a socket that turns idle after server.close() would hold it up until keep-alive ends.
    if (feed.closed) reply.header('connection', 'close')
    const last = events[events.length - 1]
    return { cursor: encodeCursor(last?.seq ?? afterSeq), events: events.map((e) => e.event) }
  }

  async function stream (request: FastifyRequest, reply: FastifyReply, params: FormParams): Promise<void> {
    await authorizeFeedCaller(app, request, credentialParams(request, params))
    const lastEventId = request.headers['last-event-id']
    const fromSeq = parseCursor(typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : params.after, 'Last-Event-ID')
    const page = await readEventsAfter(db, fromSeq ?? Number.MAX_SAFE_INTEGER, 0)
    if (fromSeq !== undefined && !cursorIsKept(page, fromSeq)) throw new Gone('the cursor is older than the feed keeps; take a new snapshot')
    // From here on the response is ours to write (fastify 5: hijack, then raw writes); the feed ends it on close.
    reply.hijack()
    streamEvents(reply.raw, reply.getHeaders() as Record<string, string>, db, feed, fromSeq ?? page.maxSeq ?? 0)
  }

  app.get('/epochs', async function getEpochs (request, reply) { return await epochs(request, reply, queryParams(request)) })
  app.post('/epochs', { preHandler: requireForm }, async function postEpochs (request, reply) { return await epochs(request, reply, request.form.params) })
  app.get('/epochs/stream', async function getEpochStream (request, reply) { await stream(request, reply, queryParams(request)) })
  app.post('/epochs/stream', { preHandler: requireForm }, async function postEpochStream (request, reply) { await stream(request, reply, request.form.params) })
}

export default fp(epochsRoutes, { name: 'epochs-routes', dependencies: ['tally', 'form-body', 'feed-hub'] })
