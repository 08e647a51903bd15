// Purges of rows nobody needs any more, in small batches so that no statement holds locks for long:
// sessions past exp + retention, used client-assertion jtis past their exp, feed events past retention
// (always keeping the newest, so that the feed's cursor never falls back and every cursor turns 410).
// `skip locked` lets several instances purge at once without waiting on each other.
import { purgeExpiredAssertionJtis } from '../store/assertion-jtis.js'
import type { Db } from '../store/database.js'
import { purgeFeedEvents } from '../store/feed-events.js'
import { purgeSessionsCountingUsage, purgeUsage, rollUpUsage } from '../store/usage.js'

const BATCH = 1000
const MAX_BATCHES = 50

async function inBatches (run: () => Promise<number>): Promise<number> {
  let total = 0
  for (let i = 0; i < MAX_BATCHES; i++) {
    const n = await run()
    total += n
    if (n < BATCH) break
  }
  return total
}

interface PurgeResult { sessions: number, assertions: number, events: number, usage: number }

export async function purgeExpired (db: Db, options: { sessionRetentionS: number, feedRetentionS: number, usageRetentionDays?: number }): Promise<PurgeResult> {
  // Usage first (docs/reference/review.md); a session deleted below is counted in the same statement that deletes it.
  await rollUpUsage(db)
  const usage = await purgeUsage(db, options.usageRetentionDays ?? 400)
  const sessions = await inBatches(async () => await purgeSessionsCountingUsage(db, options.sessionRetentionS, BATCH))
  const assertions = await inBatches(async () => await purgeExpiredAssertionJtis(db, BATCH))
  const events = await inBatches(async () => await purgeFeedEvents(db, options.feedRetentionS, BATCH))
  return { sessions, assertions, events, usage }
}
