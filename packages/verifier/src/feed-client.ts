// Keeps an EpochView in step with Tally's epoch feed (docs/reference/epoch-feed.md): a snapshot, then the events after its
// cursor over server-sent events (or long-polling), reconnecting from the last cursor with backoff. A
// cursor the server no longer keeps (410) means a new snapshot. Freshness advances only on what proves
// the server had read its table: a snapshot, an event, a heartbeat (less the lag it reports), a poll.
import { TallyHttpError, type TallyClient } from './http.js'
import { readSse } from './sse.js'
import type { EpochView, FeedEvent, FeedSnapshot } from './view.js'

export type FeedTransport = 'sse' | 'long-poll'

export interface FeedClientOptions {
  client: TallyClient
  epochsEndpoint: string
  view: EpochView
  transport: FeedTransport
  /** Resolved after the first snapshot: the staleness the verifier tolerates, in seconds. */
  maxStalenessS: () => number
  onError: (err: unknown) => void
  onEvent?: (event: FeedEvent) => void
}

const BACKOFF_MIN_MS = 50
const BACKOFF_MAX_MS = 2000
const MAX_WAIT_S = 30

export class FeedClient {
  #abort = new AbortController()
  #needSnapshot = true
  #failures = 0
  #running: Promise<void> | undefined

  constructor (private readonly options: FeedClientOptions) {}

  /** Takes the first snapshot (errors propagate: bad credentials should fail loudly), then follows the feed. */
  async start (): Promise<FeedSnapshot> {
    const snapshot = await this.#snapshot()
    this.#running = this.#run()
    return snapshot
  }

  async close (): Promise<void> {
    this.#abort.abort()
    await this.#running
  }

  async #snapshot (): Promise<FeedSnapshot> {
    const requestedAt = Date.now()
    const res = await this.options.client.request(this.options.epochsEndpoint, {}, { signal: this.#abort.signal })
    const snapshot = await res.json() as FeedSnapshot
    this.options.view.load(snapshot, requestedAt)
    this.#needSnapshot = false
    return snapshot
  }

  async #run (): Promise<void> {
    const signal = this.#abort.signal
    while (!signal.aborted) {
      try {
        if (this.#needSnapshot) await this.#snapshot()
        if (this.options.transport === 'sse') await this.#stream()
        else await this.#poll()
      } catch (err) {
        if (signal.aborted) return
        if (err instanceof TallyHttpError && err.status === 410) {
          this.#needSnapshot = true
          continue
        }
        this.options.onError(err)
        const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.#failures++)
        await sleep(delay * (0.5 + Math.random() / 2), signal)
      }
    }
  }

  #apply (event: FeedEvent, cursor: string | undefined, at: number): void {
    this.options.view.apply(event, cursor)
    this.options.view.touch(at)
    this.options.onEvent?.(event)
  }

  /** One SSE connection from the view's cursor, until it ends or goes silent for longer than allowed. */
  async #stream (): Promise<void> {
    const { view, client } = this.options
    const connection = new AbortController()
    const onAbort = (): void => connection.abort()
    this.#abort.signal.addEventListener('abort', onAbort)
    let lastByte = Date.now()
    // The server writes at least every third of max_staleness_s; silence for all of it means a dead peer.
    const watchdog = setInterval(() => {
      if (Date.now() - lastByte > this.options.maxStalenessS() * 1000) connection.abort()
    }, 250)
    try {
      const res = await client.request(this.options.epochsEndpoint + '/stream', {},
        { headers: { accept: 'text/event-stream', 'last-event-id': view.cursor as string }, signal: connection.signal })
      if (res.body === null) throw new TallyHttpError(res.status, 'the event stream has no body')
      for await (const item of readSse(res.body)) {
        const now = lastByte = Date.now()
        if (item.kind === 'event') {
          this.#apply(JSON.parse(item.data) as FeedEvent, item.id, now)
          this.#failures = 0
        } else if (item.text.startsWith('heartbeat')) {
          const lag = Number(/lag=(\d+)/.exec(item.text)?.[1] ?? 0)
          view.touch(now - lag)
          this.#failures = 0
        }
      }
      throw new TallyHttpError(0, 'the event stream ended')
    } finally {
      clearInterval(watchdog)
      this.#abort.signal.removeEventListener('abort', onAbort)
    }
  }

  /** One long-poll: the answer, events or none, is current as of when the server sent it. */
  async #poll (): Promise<void> {
    const { view, client } = this.options
    const wait = Math.min(MAX_WAIT_S, Math.floor(this.options.maxStalenessS() * 1000 / 3) / 1000)
    const res = await client.request(this.options.epochsEndpoint, { after: view.cursor as string, wait: String(wait) },
      { signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout((wait + 5) * 1000)]) })
    const body = await res.json() as { cursor: string, events: FeedEvent[] }
    const now = Date.now()
    for (const event of body.events) this.#apply(event, undefined, now)
    view.cursor = body.cursor
    view.touch(now)
    this.#failures = 0
  }
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
  })
}
