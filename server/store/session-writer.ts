// Group commit for sessions: every /token request must see its session durably stored before it answers,
// but a transaction per token would cap throughput at the database's commit rate. Rows that arrive while
// a flush is under way wait for the next flush, which inserts them all in one statement (one commit).
import type { Insertable } from 'kysely'
import type { Db, SessionTable } from './database.js'

type SessionRow = Insertable<SessionTable>

interface Pending { row: SessionRow, resolve: () => void, reject: (err: unknown) => void }

const MAX_BATCH = 500

export class SessionWriter {
  #queue: Pending[] = []
  #flushing = false

  constructor (private readonly db: Db) {}

  /** Resolves once the row is committed; rejects if the insert failed (the token must then not be sent). */
  async write (row: SessionRow): Promise<void> {
    return await new Promise<void>((resolve, reject) => {
      this.#queue.push({ row, resolve, reject })
      if (!this.#flushing) this.#flush()
    })
  }

  #flush (): void {
    this.#flushing = true
    // Let the rows of requests already in this tick of the event loop join the batch.
    setImmediate(() => { void this.#drain() })
  }

  async #drain (): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH)
      try {
        await this.db.insertInto('sessions').values(batch.map((p) => p.row)).execute()
        for (const p of batch) p.resolve()
      } catch (err) {
        for (const p of batch) p.reject(err)
      }
    }
    this.#flushing = false
  }
}
