// The epoch feed hub (docs/reference/epoch-feed.md): one per instance. It holds ONE LISTEN connection on the feed channel,
// reads every new event from epoch_events once (seq > head: safe because seq order is commit order), keeps
// the recent ones in memory, and wakes its subscribers — long-polls and SSE streams — which then take
// their events from that buffer. It also reads the table on a timer: that read is the proof of freshness
// behind every heartbeat, and while the LISTEN connection is down it is how events still arrive.
import type { Store } from '../store/database.js'
import { EPOCH_CHANNEL } from '../store/epochs.js'
import { readEventsAfter, PAGE_SIZE, type SequencedEvent } from './events.js'
import { startListener, type FeedListener } from '../store/listener.js'

export type FeedSignal = 'events' | 'sync' | 'close'
export type FeedSubscriber = (signal: FeedSignal) => void

export interface EpochFeedOptions {
  store: Store
  /** The staleness verifiers are told to tolerate; the hub syncs at least three times within it. */
  maxStalenessS: number
  log: { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void }
}

const BUFFER_MAX = 10_000
// While the LISTEN connection is down, new events are found by reading the table this often.
const FALLBACK_POLL_MS = 250

export class EpochFeed {
  #head = 0
  #buffer: SequencedEvent[] = []
  /** The buffer holds every event with bufferFrom < seq <= head. */
  #bufferFrom = 0
  #syncedAt = 0
  #syncing: Promise<void> | undefined
  #again = false
  #timer: NodeJS.Timeout | undefined
  #listener: FeedListener | undefined
  #subscribers = new Set<FeedSubscriber>()
  #closed = false
  readonly syncIntervalMs: number

  constructor (private readonly options: EpochFeedOptions) {
    this.syncIntervalMs = Math.max(50, Math.floor(options.maxStalenessS * 1000 / 3))
  }

  async start (): Promise<void> {
    const page = await readEventsAfter(this.options.store.db, Number.MAX_SAFE_INTEGER, 0)
    this.#head = this.#bufferFrom = page.maxSeq ?? 0
    this.#syncedAt = Date.now()
    // Listen after reading the head: the sync on connect reads whatever committed in between.
    this.#listener = await startListener(this.options.store, EPOCH_CHANNEL, {
      onNotify: (payload?: string) => { this.#notified(payload) },
      onConnected: () => { void this.sync() },
      onDisconnected: (err) => {
        this.options.log.warn({ err: { message: err instanceof Error ? err.message : String(err) } }, 'epoch feed listener lost; polling')
        this.#schedule()
      }
    })
    this.#schedule()
  }

  /** Seq of the newest event this hub has read. */
  get head (): number { return this.#head }
  /** Milliseconds since this hub last read the table successfully. */
  get lagMs (): number { return Date.now() - this.#syncedAt }
  get subscriberCount (): number { return this.#subscribers.size }
  get closed (): boolean { return this.#closed }
  get listening (): boolean { return this.#listener?.connected ?? false }
  /** Backend pid of the LISTEN connection, for tests that cut it. */
  get listenerPid (): number | undefined { return this.#listener?.pid }

  subscribe (subscriber: FeedSubscriber): () => void {
    if (this.#closed) { subscriber('close'); return () => {} }
    this.#subscribers.add(subscriber)
    return () => { this.#subscribers.delete(subscriber) }
  }

  /**
   * Events after `seq` from the buffer, or undefined when the buffer cannot answer (the caller then reads
   * the table). An empty list means "nothing yet": `seq` is at or beyond this hub's head.
   */
  bufferedAfter (seq: number): SequencedEvent[] | undefined {
    if (seq >= this.#head) return []
    if (seq < this.#bufferFrom) return undefined
    let lo = 0
    let hi = this.#buffer.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.#buffer[mid] as SequencedEvent).seq <= seq) lo = mid + 1
      else hi = mid
    }
    return this.#buffer.slice(lo, lo + PAGE_SIZE)
  }

  /** Reads every event committed since the head, then wakes the subscribers. Concurrent calls coalesce. */
  async sync (): Promise<void> {
    if (this.#syncing !== undefined) {
      this.#again = true
      return await this.#syncing
    }
    this.#syncing = this.#read().finally(() => { this.#syncing = undefined })
    await this.#syncing
  }

  // The payload is the event's seq (store/epochs.ts). One at or below the head was read already — by the
  // read that a burst's first NOTIFY started — so it needs no read of its own. Without a payload (or with
  // one from another deployment, whose seqs mean nothing here) the table is read.
  #notified (payload: string | undefined): void {
    const seq = payload === undefined || !/^\d{1,16}$/.test(payload) ? Number.NaN : Number(payload)
    if (seq <= this.#head) return
    void this.sync()
  }

  async #read (): Promise<void> {
    do {
      this.#again = false
      let added = 0
      try {
        for (;;) {
          const page = await readEventsAfter(this.options.store.db, this.#head)
          this.#append(page.events)
          added += page.events.length
          if (page.events.length < PAGE_SIZE) break
        }
        this.#syncedAt = Date.now()
        // Any successful read proves freshness: the idle read is due a full interval after this one.
        if (this.listening) this.#schedule()
      } catch (err) {
        if (!this.#closed) this.options.log.warn({ err: { message: (err as Error).message } }, 'epoch feed read failed')
        return
      }
      if (added > 0) this.#emit('events')
      this.#emit('sync')
    } while (this.#again && !this.#closed)
  }

  #append (events: SequencedEvent[]): void {
    if (events.length === 0) return
    this.#buffer.push(...events)
    this.#head = (events[events.length - 1] as SequencedEvent).seq
    if (this.#buffer.length > BUFFER_MAX) {
      const dropped = this.#buffer.splice(0, this.#buffer.length - BUFFER_MAX)
      this.#bufferFrom = (dropped[dropped.length - 1] as SequencedEvent).seq
    }
  }

  #emit (signal: FeedSignal): void {
    for (const subscriber of this.#subscribers) subscriber(signal)
  }

  #schedule (): void {
    clearTimeout(this.#timer)
    if (this.#closed) return
    const delay = this.listening ? this.syncIntervalMs : Math.min(FALLBACK_POLL_MS, this.syncIntervalMs)
    this.#timer = setTimeout(() => {
      void this.sync().finally(() => this.#schedule())
    }, delay)
    this.#timer.unref()
  }

  /** Stops listening and ends every subscription (open streams must not hold up shutdown). */
  async close (): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#emit('close')
    this.#subscribers.clear()
    await this.#listener?.close()
  }
}
