// Group commit for sessions: every /token request must see its session durably stored before it answers,
// but a transaction per token would cap throughput at the database's commit rate. Rows that arrive while
// a flush is under way wait for the next flush, which inserts them all in one statement (one commit).
// A row is inserted only while its signing key is usable: after an emergency removal, an instance whose
// key ring has not reloaded yet must not hand out tokens of the removed key (issue 9 finding 11).
import { sql, type Insertable } from './kysely.js'
import { TemporarilyUnavailable } from '../errors.js'
import type { Db, SessionTable } from './database.js'

/**
 * A token exchanged under delegation (RFC 8693, docs/decisions.md §32) also records its chain: the session it was
 * exchanged from, every actor (outermost first) with the epoch it had at minting, and the delegations used.
 */
export interface SessionChain { parent_jti: string, actor_ids: string[], actor_epochs: number[], delegation_ids: string[] }

export type SessionRow = Insertable<SessionTable> & { chain?: SessionChain }

interface Pending { row: SessionRow, resolve: () => void, reject: (err: unknown) => void }

const MAX_BATCH = 500

export class SessionWriter {
  #queue: Pending[] = []
  #flushing = false

  /** `onKeyRemoved`: a row was refused because its key is removed — this instance's key ring is behind. */
  constructor (private readonly db: Db, private readonly onKeyRemoved: () => void = () => {}) {}

  /**
   * Resolves once the row is committed; rejects if the insert failed (the token must then not be sent):
   * with TemporarilyUnavailable (503 + Retry-After) when its signing key was removed meanwhile. The
   * client retries, and by then this instance signs with the new key.
   */
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
        const inserted = await insertSessions(this.db, batch.map((p) => p.row))
        let refused = false
        for (const p of batch) {
          if (inserted.has(p.row.jti)) p.resolve()
          else { refused = true; p.reject(new TemporarilyUnavailable()) }
        }
        if (refused) this.onKeyRemoved()
      } catch (err) {
        for (const p of batch) p.reject(err)
      }
    }
    this.#flushing = false
  }
}

/**
 * One statement shape whatever the batch size (arrays through unnest), so it is prepared once per
 * connection; cheaper per row than a multi-row VALUES list, too. Rows whose key is removed (or unknown)
 * are left out; returns the jtis inserted. A statement that read the key just before its removal
 * committed still inserts: such a token is born inactive (introspection reads the key's state, and the
 * feed's key event makes verifiers refuse it) — the window is one statement, not a key-ring reload.
 */
async function insertSessions (db: Db, rows: SessionRow[]): Promise<Set<string>> {
  const col = <T>(pick: (r: SessionRow) => T): T[] => rows.map(pick)
  // A batch without delegated rows (the client_credentials hot path) leaves the chain columns out: a second,
  // shorter statement shape, prepared once too, that serialises four arrays fewer.
  const chained = rows.some((r) => r.chain !== undefined)
  const chainColumns = chained ? sql`, parent_jti, actor_ids, actor_epochs, delegation_ids` : sql``
  const chainValues = chained
    ? sql`, u.parent_jti, string_to_array(u.actor_ids, ',')::uuid[], string_to_array(u.actor_epochs, ',')::int[], string_to_array(u.dids, ',')::uuid[]`
    : sql``
  const chainArrays = chained
    ? sql`, ${col((r) => r.chain?.parent_jti ?? null)}::uuid[], ${col((r) => r.chain?.actor_ids.join(',') ?? null)}::text[],
      ${col((r) => r.chain?.actor_epochs.join(',') ?? null)}::text[], ${col((r) => r.chain?.delegation_ids.join(',') ?? null)}::text[]`
    : sql``
  const chainNames = chained ? sql`, parent_jti, actor_ids, actor_epochs, dids` : sql``
  const { rows: inserted } = await sql<{ jti: string }>`
    insert into sessions (jti, identity_id, epoch, resource_id, scope, iat, exp, credential_id, token_hash, kid, entitlement_ids${chainColumns})
    select u.jti, u.identity_id, u.epoch, u.resource_id, u.scope, u.iat, u.exp, u.credential_id, u.token_hash, u.kid,
      string_to_array(u.eids, ',')::uuid[]${chainValues}
    from unnest(${col((r) => r.jti)}::uuid[], ${col((r) => r.identity_id)}::uuid[], ${col((r) => r.epoch)}::int[],
      ${col((r) => r.resource_id)}::uuid[], ${col((r) => r.scope)}::text[], ${col((r) => r.iat)}::timestamptz[],
      ${col((r) => r.exp)}::timestamptz[], ${col((r) => r.credential_id ?? null)}::uuid[],
      ${col((r) => '\\x' + Buffer.from(r.token_hash).toString('hex'))}::text[]::bytea[], ${col((r) => r.kid)}::text[],
      ${col((r) => r.entitlement_ids?.join(',') ?? null)}::text[]${chainArrays}) -- unnest would flatten a uuid[][]: ids travel comma-joined
      as u (jti, identity_id, epoch, resource_id, scope, iat, exp, credential_id, token_hash, kid, eids${chainNames})
    where exists (select 1 from signing_keys k where k.kid = u.kid and k.state <> 'removed')
    returning jti`.execute(db)
  return new Set(inserted.map((r) => r.jti))
}
