// A LISTEN connection that survives outages, for the epoch feed and the key ring. On Postgres it is a
// dedicated client that reconnects with capped, jittered exponential backoff whenever the connection is
// lost; onConnected tells the user to re-read what it may have missed (the feed polls the table while the
// listener is down), so a lost NOTIFY delays a change but never loses it. PGlite runs in this process and
// cannot lose its connection, so the store's own listen() serves.
import { sql, type RawBuilder } from './kysely.js'
import pg from 'pg'
import type { Store } from './database.js'

export interface FeedListenerEvents {
  /** A notification arrived (the payload is the seq, but the hub reads the table anyway). */
  onNotify: () => void
  /** The listener is (again) connected: anything committed while it was down must be read now. */
  onConnected: () => void
  onDisconnected: (err: unknown) => void
}

export interface FeedListener {
  readonly connected: boolean
  /** The backend pid of the LISTEN connection (Postgres only; tests terminate it). */
  readonly pid: number | undefined
  close: () => Promise<void>
}

const BACKOFF_MIN_MS = 100
const BACKOFF_MAX_MS = 5000
const CONNECT_TIMEOUT_MS = 2000

/**
 * The channel a base name stands for in this schema. NOTIFY reaches every session of a database, so two
 * Tally deployments in two schemas of one database (or test runs side by side) would otherwise wake each
 * other's listeners; the name carries a digest of the schema (NOTIFY channel names are identifiers:
 * at most 63 bytes). Writers notify with the same expression (scopedChannel).
 */
const CHANNEL_SQL = "$1::text || '_' || left(md5(current_schema()), 12)"

export function scopedChannel (base: string): RawBuilder<string> {
  return sql<string>`${base}::text || '_' || left(md5(current_schema()), 12)`
}

/** The scoped name of a channel, for the embedded database's own listen(). */
async function resolveChannel (store: Store, base: string): Promise<string> {
  const { rows } = await sql<{ channel: string }>`select ${scopedChannel(base)} as channel`.execute(store.db)
  return rows[0]?.channel ?? base
}

export async function startListener (store: Store, channel: string, events: FeedListenerEvents): Promise<FeedListener> {
  if (store.engine === 'pglite') {
    const unlisten = await store.listen(await resolveChannel(store, channel), events.onNotify)
    events.onConnected()
    return { connected: true, pid: undefined, close: unlisten }
  }
  return new PostgresListener(store.connectionString, channel, events)
}

class PostgresListener implements FeedListener {
  connected = false
  pid: number | undefined
  #client: pg.Client | undefined
  #closed = false
  #failures = 0
  #retry: NodeJS.Timeout | undefined

  constructor (private readonly url: string, private readonly channel: string, private readonly events: FeedListenerEvents) {
    void this.#connect()
  }

  async #connect (): Promise<void> {
    if (this.#closed) return
    const client = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
      application_name: 'tally-feed'
    })
    this.#client = client
    let lost = false
    const onLost = (err: unknown): void => {
      if (lost) return
      lost = true
      this.#lost(client, err)
    }
    client.on('error', onLost)
    client.on('end', () => onLost(new Error('connection ended')))
    let channel = this.channel
    client.on('notification', (message) => { if (message.channel === channel) this.events.onNotify() })
    try {
      await client.connect()
      const { rows: [named] } = await client.query<{ channel: string }>(`select ${CHANNEL_SQL} as channel`, [this.channel])
      channel = named?.channel ?? this.channel
      await client.query(`listen ${pg.escapeIdentifier(channel)}`)
      const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid')
      if (this.#closed || lost) return
      this.pid = rows[0]?.pid
      this.connected = true
      this.#failures = 0
      this.events.onConnected()
    } catch (err) {
      onLost(err)
    }
  }

  #lost (client: pg.Client, err: unknown): void {
    const wasConnected = this.connected
    this.connected = false
    this.pid = undefined
    void client.end().catch(() => {})
    if (this.#closed) return
    if (wasConnected || this.#failures === 0) this.events.onDisconnected(err)
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.#failures++)
    this.#retry = setTimeout(() => { void this.#connect() }, delay * (0.5 + Math.random() / 2))
  }

  async close (): Promise<void> {
    this.#closed = true
    clearTimeout(this.#retry)
    this.connected = false
    await this.#client?.end().catch(() => {})
  }
}
