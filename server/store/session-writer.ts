// Group commit for sessions: every /token request must see its session durably stored before it answers,
// but a transaction per token would cap throughput at the database's commit rate. Rows that arrive while
// a flush is under way wait for the next flush, which inserts them all in one statement (one commit).
import { sql, type Insertable } from 'kysely'
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
        await insertSessions(this.db, batch.map((p) => p.row))
        for (const p of batch) p.resolve()
      } catch (err) {
        for (const p of batch) p.reject(err)
      }
    }
    this.#flushing = false
  }
}

/**
 * One statement shape whatever the batch size (arrays through unnest), so it is prepared once per
 * connection; cheaper per row than a multi-row VALUES list, too.
 */
async function insertSessions (db: Db, rows: SessionRow[]): Promise<void> {
  const col = <T>(pick: (r: SessionRow) => T): T[] => rows.map(pick)
  await sql`
    insert into sessions (jti, identity_id, epoch, resource_id, scope, iat, exp, credential_id, token_hash, kid, entitlement_ids)
    select jti, identity_id, epoch, resource_id, scope, iat, exp, credential_id, token_hash, kid, string_to_array(eids, ',')::uuid[] from unnest(${col((r) => r.jti)}::uuid[], ${col((r) => r.identity_id)}::uuid[], ${col((r) => r.epoch)}::int[],
      ${col((r) => r.resource_id)}::uuid[], ${col((r) => r.scope)}::text[], ${col((r) => r.iat)}::timestamptz[],
      ${col((r) => r.exp)}::timestamptz[], ${col((r) => r.credential_id ?? null)}::uuid[],
      ${col((r) => '\\x' + Buffer.from(r.token_hash).toString('hex'))}::text[]::bytea[], ${col((r) => r.kid)}::text[],
      ${col((r) => r.entitlement_ids?.join(',') ?? null)}::text[]) -- unnest would flatten a uuid[][]: ids travel comma-joined
      as t(jti, identity_id, epoch, resource_id, scope, iat, exp, credential_id, token_hash, kid, eids)`.execute(db)
}
