// Waiting in tests: on a condition, with a deadline — never a fixed sleep. A condition that does not hold
// in time throws, so the test fails with what it waited for instead of spinning until tap's timeout.
import { setTimeout as delay } from 'node:timers/promises'

export interface WaitOptions {
  /** Give up after this long (default 15 s). */
  timeoutMs?: number
  /** Named in the error when the deadline passes. */
  what?: string
  /** Time between checks (default 5 ms): the granularity of the wait, not a sleep the test relies on. */
  intervalMs?: number
}

/** Resolves once `check` holds (returns its truthy value); throws when `timeoutMs` passes first. */
export async function waitFor<T> (check: () => T | Promise<T>, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 15_000, what = 'a condition', intervalMs = 5 } = options
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== null && value !== false) return value as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await delay(intervalMs)
  }
}
