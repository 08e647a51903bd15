// GET /epochs/stream (docs/reference/epoch-feed.md, WHATWG server-sent events): each event is written with its cursor as `id:`,
// in commit order, from the position the caller gave (Last-Event-ID) or the current one. A heartbeat
// comment (`: heartbeat lag=<ms since the hub last read the table>`) follows the first catch-up and then
// the hub's successful reads of the table when nothing else was written lately, so a verifier that hears
// nothing for max_staleness_s knows its view may be old.
import type { ServerResponse } from 'node:http'
import type { Db } from '../store/database.js'
import { encodeCursor } from './cursor.js'
import { cursorIsKept, readEventsAfter } from './events.js'
import type { EpochFeed } from './epoch-feed.js'

// A consumer this far behind is cut off; it resumes from its Last-Event-ID with a new connection.
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024
const RECONNECT_MS = 500

export function streamEvents (raw: ServerResponse, headers: Record<string, string>, db: Db, feed: EpochFeed, fromSeq: number): void {
  let pos = fromSeq
  let pumping = false
  let pending = false
  // A heartbeat follows the first catch-up, so a verifier resuming after an outage is current at once.
  let heartbeatDue = true
  let lastWrite = 0
  let ended = false
  let unsubscribe = (): void => {}

  // `Connection: close`: once a stream ends (on shutdown, say) its socket must not linger as keep-alive.
  raw.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', connection: 'close', 'x-accel-buffering': 'no' })
  raw.write(`retry: ${RECONNECT_MS}\n: cursor ${encodeCursor(pos)}\n\n`)

  const end = (): void => {
    if (ended) return
    ended = true
    unsubscribe()
    raw.end()
  }
  const write = (chunk: string): void => {
    raw.write(chunk)
    lastWrite = Date.now()
    if (raw.writableLength > MAX_BUFFERED_BYTES) end()
  }

  async function pump (): Promise<void> {
    if (pumping) { pending = true; return }
    pumping = true
    try {
      do {
        pending = false
        for (;;) {
          let events = feed.bufferedAfter(pos)
          if (events === undefined) {
            const page = await readEventsAfter(db, pos)
            if (!cursorIsKept(page, pos)) return end()
            events = page.events
          }
          if (ended || events.length === 0) break
          let chunk = ''
          for (const { seq, event } of events) chunk += `id: ${encodeCursor(seq)}\ndata: ${JSON.stringify(event)}\n\n`
          pos = (events[events.length - 1] as { seq: number }).seq
          write(chunk)
        }
        // Only once caught up with a successful read of the table may we claim freshness.
        if (heartbeatDue && !ended && pos >= feed.head && Date.now() - lastWrite >= feed.syncIntervalMs / 2) write(`: heartbeat lag=${feed.lagMs}\n\n`)
        heartbeatDue = false
      } while (pending && !ended)
    } catch {
      // The table could not be read: end the stream rather than keep a caller believing it is current.
      end()
    } finally {
      pumping = false
    }
  }

  unsubscribe = feed.subscribe(function onFeedSignal (signal) {
    if (signal === 'close') return end()
    if (signal === 'sync') heartbeatDue = true
    void pump()
  })
  raw.on('close', end)
  void pump()
}
