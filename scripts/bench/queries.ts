// --queries: what one database round trip of each hot-path statement costs, in Postgres backend CPU
// (from /proc) and client CPU, run back to back on one connection. Compares the statements as Tally sends
// them today (Kysely → unnamed extended-protocol statements: parse + plan on every call) with the same
// SQL as named prepared statements (planned once per connection), a one-round-trip introspection, and
// session inserts batched at several sizes. The SQL is copied from server/ as of this commit: a prototype
// to size recommendations, not a second implementation.
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { clockTicks, cpuTicksByPid } from './proc-stats.js'
import { clientId, JWT_RESOURCE, RS_CLIENT_ID } from './fixtures.js'
import type { TallyDeployment } from './tally.js'

export const LOAD_CLIENT_SQL = `
    select i.id, i.client_id, i.kind, i.status, i.epoch, i.token_ttl_s,
      coalesce((select json_agg(json_build_object('id', c.id, 'type', c.type, 'hash', encode(c.secret_hash, 'hex'), 'jwk', c.jwk))
        from credentials c
        where c.identity_id = i.id and c.revoked_at is null and (c.expires_at is null or c.expires_at > now())), '[]') as credentials,
      coalesce((select json_agg(json_build_object('id', e.id, 'resource_id', r.id, 'resource', r.identifier,
          'max_ttl', r.max_token_ttl_s, 'scopes', e.scopes, 'conditions', e.conditions,
          'expires_at', floor(extract(epoch from e.expires_at))::bigint) order by e.created_at, e.id)
        from entitlements e join resources r on r.id = e.resource_id
        where e.identity_id = i.id and (e.expires_at is null or e.expires_at > now())), '[]') as entitlements,
      coalesce((select json_agg(r.identifier)
        from resource_introspectors ri join resources r on r.id = ri.resource_id
        where ri.identity_id = i.id), '[]') as introspects
    from identities i
    where i.client_id = $1 and i.status <> 'deleted'`

export const CHECK_TOKEN_SQL = `
    select s.token_hash, s.epoch as session_epoch, s.revoked_at is not null as revoked,
      i.epoch as current_epoch, i.status, k.state as key_state
    from sessions s
    join identities i on i.id = s.identity_id
    left join signing_keys k on k.kid = $1
    where s.jti = $2`

// Introspection in one round trip: the caller's identity and credentials (to authenticate it) and the
// token's session state, as two independent scalar subqueries of one statement.
export const INTROSPECT_ONE_TRIP_SQL = `
    select (select row_to_json(c) from (${LOAD_CLIENT_SQL.replace('$1', '$3')}) c) as caller,
      (select row_to_json(t) from (${CHECK_TOKEN_SQL}) t) as token`

interface Cost { name: string, perCall: number, backendUs: number, clientUs: number, wallUs: number }

async function cost (client: pg.Client, backendPid: number, name: string, seconds: number, call: (i: number) => Promise<unknown>, rowsPerCall = 1): Promise<Cost> {
  for (let i = 0; i < 200; i++) await call(i)
  const hz = clockTicks()
  const b0 = cpuTicksByPid([backendPid]).get(backendPid) ?? 0
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  let n = 0
  while (performance.now() - t0 < seconds * 1000) { await call(n); n++ }
  const wall = performance.now() - t0
  const c = process.cpuUsage(c0)
  const b1 = cpuTicksByPid([backendPid]).get(backendPid) ?? 0
  const per = n * rowsPerCall
  return { name, perCall: rowsPerCall, backendUs: (b1 - b0) / hz * 1e6 / per, clientUs: (c.user + c.system) / per, wallUs: wall * 1000 / per }
}

export async function runQueryCosts (dep: TallyDeployment, clients: number, seconds: number): Promise<string> {
  const client = new pg.Client({ connectionString: dep.databaseUrl })
  await client.connect()
  try {
    const { rows: [{ pid }] } = await client.query<{ pid: number }>('select pg_backend_pid() as pid') as unknown as { rows: [{ pid: number }] }
    const { rows: sessions } = await client.query<{ jti: string, kid: string }>('select jti, kid from sessions limit 2000')
    if (sessions.length === 0) throw new Error('no sessions to look up')
    const { rows: [res] } = await client.query<{ id: string }>('select id from resources where identifier = $1', [JWT_RESOURCE])
    const { rows: [idRow] } = await client.query<{ id: string }>('select id from identities where client_id = $1', [clientId(0)])
    const s = (i: number): { jti: string, kid: string } => sessions[i % sessions.length] as { jti: string, kid: string }
    const results: Cost[] = []
    results.push(await cost(client, pid, 'loadClient — unnamed (today)', seconds, async (i) => await client.query(LOAD_CLIENT_SQL, [clientId(i % clients)])))
    results.push(await cost(client, pid, 'loadClient — named prepared', seconds, async (i) => await client.query({ name: 'bench_load_client', text: LOAD_CLIENT_SQL, values: [clientId(i % clients)] })))
    results.push(await cost(client, pid, 'checkAccessToken — unnamed (today)', seconds, async (i) => await client.query(CHECK_TOKEN_SQL, [s(i).kid, s(i).jti])))
    results.push(await cost(client, pid, 'checkAccessToken — named prepared', seconds, async (i) => await client.query({ name: 'bench_check_token', text: CHECK_TOKEN_SQL, values: [s(i).kid, s(i).jti] })))
    results.push(await cost(client, pid, 'introspection in ONE round trip — named', seconds, async (i) => await client.query({ name: 'bench_introspect', text: INTROSPECT_ONE_TRIP_SQL, values: [s(i).kid, s(i).jti, RS_CLIENT_ID] })))
    for (const batch of [1, 10, 50, 200]) {
      const cols = 10
      const placeholders = Array.from({ length: batch }, (_v, r) => `(${Array.from({ length: cols }, (_w, c) => `$${r * cols + c + 1}`).join(', ')})`).join(', ')
      const text = `insert into sessions (jti, identity_id, epoch, resource_id, scope, iat, exp, credential_id, token_hash, kid) values ${placeholders}`
      const now = new Date()
      results.push(await cost(client, pid, `session insert, ${batch} row(s) per statement — unnamed (today), per row`, seconds, async () => {
        const values: unknown[] = []
        for (let r = 0; r < batch; r++) values.push(randomUUID(), idRow?.id, 1, res?.id, 'read write', now, new Date(now.getTime() + 300_000), null, Buffer.alloc(32, 1), 'bench')
        await client.query(text, values)
      }, batch))
    }
    for (const batch of [10, 50]) {
      // One statement text for every batch size (arrays, unnest): a single prepared statement per connection.
      const text = `insert into sessions (jti, identity_id, epoch, resource_id, scope, iat, exp, credential_id, token_hash, kid)
        select * from unnest($1::uuid[], $2::uuid[], $3::int[], $4::uuid[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::uuid[], $9::bytea[], $10::text[])`
      const now = new Date()
      results.push(await cost(client, pid, `session insert, ${batch} rows per statement — unnest arrays, named prepared, per row`, seconds, async () => {
        const cols: unknown[][] = Array.from({ length: 10 }, () => [])
        for (let r = 0; r < batch; r++) {
          const row = [randomUUID(), idRow?.id, 1, res?.id, 'read write', now, new Date(now.getTime() + 300_000), null, Buffer.alloc(32, 1), 'bench']
          row.forEach((v, c) => (cols[c] as unknown[]).push(v))
        }
        await client.query({ name: 'bench_insert_sessions_unnest', text, values: cols })
      }, batch))
    }
    const lines = ['### Cost of one round trip, per statement (one connection, back to back)', '',
      '| statement | Postgres backend CPU µs | client (Node) CPU µs | wall µs |', '|---|---:|---:|---:|',
      ...results.map((r) => `| ${r.name} | ${r.backendUs.toFixed(0)} | ${r.clientUs.toFixed(0)} | ${r.wallUs.toFixed(0)} |`)]
    return lines.join('\n')
  } finally {
    await client.end()
  }
}
