// The narrowing changes of workload federation (docs/reference/federation.md): a trust removed, or changed in a way that could
// withhold access (JWKS, audience, claim mapping, lifetime). Each narrows, in the change's transaction,
// every identity holding a federated credential on that trust, so the tokens the trust produced go stale
// at the commit. Lock order (see change.ts): the trust row first (like a resource), then the identities.
import type { Change } from './change.js'
import { identitiesFederatedOn } from '../store/trusts.js'

export type TrustNarrowing = 'trust_changed' | 'trust_removed'

/** Narrows every identity federated on the trust; call BEFORE revoking its credentials. Returns their ids. */
export async function narrowIdentitiesOfTrust (change: Change, trustId: string, reason: TrustNarrowing): Promise<string[]> {
  const identities = await identitiesFederatedOn(change.trx, trustId)
  await change.narrow(identities, reason)
  return identities
}

/** Which trust fields narrow when changed (everything but `name`). */
export const NARROWING_TRUST_FIELDS = ['jwks_uri', 'audience', 'claims', 'max_assertion_lifetime_s'] as const
