// GET /epochs?after=<cursor>&wait=<s> (docs/reference/epoch-feed.md): answer at once when events are waiting, else hold the
// request until the hub reads one or the time is up. The first and the last answer come from the table
// itself, so an empty answer is a fresh "nothing since your cursor", never the hub's possibly older view.
import type { Db } from '../store/database.js'
import { Gone } from '../errors.js'
import { cursorIsKept, readEventsAfter, type SequencedEvent } from './events.js'
import type { EpochFeed } from './epoch-feed.js'

export async function readOrWait (db: Db, feed: EpochFeed, afterSeq: number, waitMs: number, aborted: AbortSignal): Promise<SequencedEvent[]> {
  const page = await readEventsAfter(db, afterSeq)
  if (!cursorIsKept(page, afterSeq)) throw new Gone('the cursor is older than the feed keeps; take a new snapshot')
  if (page.events.length > 0 || waitMs <= 0) return page.events

  const woken = await new Promise<SequencedEvent[] | undefined>((resolve) => {
    let settled = false
    const done = (events: SequencedEvent[] | undefined): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      unsubscribe()
      aborted.removeEventListener('abort', onAbort)
      resolve(events)
    }
    // undefined: the buffer cannot answer for this cursor (or the time is up) — read the table.
    const check = (): void => {
      const events = feed.bufferedAfter(afterSeq)
      if (events === undefined || events.length > 0) done(events)
    }
    const onAbort = (): void => done([])
    const timer = setTimeout(() => done(undefined), waitMs)
    const unsubscribe = feed.subscribe((signal) => {
      if (signal === 'close') done([])
      else if (signal === 'events') check()
    })
    aborted.addEventListener('abort', onAbort)
    // The hub may have read an event between our read of the table and the subscription.
    check()
  })
  if (woken !== undefined) return woken
  return (await readEventsAfter(db, afterSeq)).events
}
