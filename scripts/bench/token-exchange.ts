// The token-exchange row (issue 14): tokens/s and CPU µs per exchange for RFC 8693 delegation (one hop:
// bench client i's token exchanged by bench client i+1, which it delegated to), beside client_credentials
// on the same Tally. An exchange costs the actor's authentication (one grouped round trip), the strict
// check of the subject token (one), the exchange state (one), a signature and a session insert.
import { basicAuth, clientId, clientSecret, FORM, JWT_RESOURCE } from './fixtures.js'
import type { BenchRequest } from './load.js'
import { alternateGrants } from './grant-rows.js'
import { issueTokens, tokenRequests } from './requests.js'
import type { Server } from './servers.js'
import type { TallyDeployment } from './tally.js'
import type { JwtBearerRow } from './jwt-bearer.js'

const PAIRS = 200

async function seedDelegations (dep: TallyDeployment): Promise<void> {
  await dep.admin.query(`insert into delegations (subject_id, actor_id, resource_id, scopes)
    select s.id, a.id, r.id, array['read', 'write']
    from unnest($1::text[], $2::text[]) as p(subject, actor)
    join identities s on s.client_id = p.subject join identities a on a.client_id = p.actor
    join resources r on r.identifier = $3`,
  [Array.from({ length: PAIRS }, (_v, i) => clientId(i)), Array.from({ length: PAIRS }, (_v, i) => clientId(i + 1)), JWT_RESOURCE])
  await dep.admin.query('analyze delegations')
}

/**
 * Seeds the delegations (once per deployment) and returns the exchange requests: client i+1 exchanging
 * client i's token, rotating over PAIRS pairs. Probes one exchange first.
 */
export async function exchangeRequests (tally: Server, dep: TallyDeployment): Promise<() => BenchRequest> {
  if (!seeded.has(dep.schema)) { await seedDelegations(dep); seeded.add(dep.schema) }
  // issueTokens spreads over clients 0..PAIRS-1 in order: token i is client i's.
  const subjectTokens = await issueTokens(tally.url, PAIRS, PAIRS)
  const subjectOf = subjectTokens.map((t) => JSON.parse(Buffer.from(t.split('.')[1] as string, 'base64url').toString()) as { client_id: string })
  const requests = subjectTokens.map((token, k) => {
    const i = Number(/(\d+)$/.exec(subjectOf[k]?.client_id ?? '')?.[1] ?? NaN)
    return {
      headers: { authorization: basicAuth(clientId(i + 1), clientSecret(i + 1)), 'content-type': FORM },
      body: `grant_type=${encodeURIComponent('urn:ietf:params:oauth:grant-type:token-exchange')}&subject_token_type=${encodeURIComponent('urn:ietf:params:oauth:token-type:access_token')}&subject_token=${token}&resource=${encodeURIComponent(JWT_RESOURCE)}`
    }
  })
  const probe = await fetch(`${tally.url}/token`, { method: 'POST', headers: requests[0]?.headers, body: requests[0]?.body })
  if (probe.status !== 200) throw new Error(`token-exchange probe: ${probe.status} ${await probe.text()}`)
  let n = 0
  return () => { const r = requests[n++ % requests.length] as { headers: Record<string, string>, body: string }; return { path: '/token', headers: r.headers, body: r.body } }
}

const seeded = new Set<string>()

/**
 * A delegated two-hop token for the verifier row: bench client 0's token, exchanged by client 1, that one
 * exchanged by client 2 (the seeded delegations 0→1 and 1→2). Tokens minted from it carry the nested `act`.
 */
export async function twoHopToken (tally: Server, dep: TallyDeployment): Promise<string> {
  if (!seeded.has(dep.schema)) { await seedDelegations(dep); seeded.add(dep.schema) }
  const [root] = await issueTokens(tally.url, 1, 1)
  let token = root as string
  for (const actor of [1, 2]) {
    const res = await fetch(`${tally.url}/token`, {
      method: 'POST',
      headers: { authorization: basicAuth(clientId(actor), clientSecret(actor)), 'content-type': FORM },
      body: `grant_type=${encodeURIComponent('urn:ietf:params:oauth:grant-type:token-exchange')}&subject_token_type=${encodeURIComponent('urn:ietf:params:oauth:token-type:access_token')}&subject_token=${token}&resource=${encodeURIComponent(JWT_RESOURCE)}`
    })
    if (res.status !== 200) throw new Error(`two-hop exchange ${actor}: ${res.status} ${await res.text()}`)
    token = (await res.json() as { access_token: string }).access_token
  }
  return token
}

export async function benchTokenExchange (tally: Server, dep: TallyDeployment): Promise<JwtBearerRow[]> {
  const exchange = await exchangeRequests(tally, dep)
  return await alternateGrants(tally, dep,
    [{ grant: 'client_credentials (client_secret_basic)', runs: [] }, { grant: 'token-exchange (one hop, client_secret_basic)', runs: [] }],
    [tokenRequests(PAIRS), exchange], 2)
}
