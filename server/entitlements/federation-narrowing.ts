// The narrowing changes of workload federation (SPEC §7): a trust removed, or changed in a way that could
// withhold access (JWKS, audience, claim mapping, lifetime). Each bumps, in the caller's transaction, the
// epoch of every identity holding a federated credential on that trust, so the tokens the trust produced
// go stale at the commit.
// TODO(domain): re-point at the central narrowing commit function once it lands; this is the one call site.
import type { Db } from '../store/database.js'
import { bumpEpoch } from '../store/epochs.js'
import { lockIdentitiesFederatedOn } from '../store/trusts.js'

export type TrustNarrowing = 'trust_changed' | 'trust_removed'

/** Bumps every identity federated on the trust; call BEFORE revoking its credentials. Returns their ids. */
export async function bumpIdentitiesOfTrust (trx: Db, trustId: string, reason: TrustNarrowing): Promise<string[]> {
  const identities = await lockIdentitiesFederatedOn(trx, trustId)
  for (const identityId of identities) await bumpEpoch(trx, identityId, reason)
  return identities
}

/** Which trust fields narrow when changed (everything but `name`). */
export const NARROWING_TRUST_FIELDS = ['jwks_uri', 'audience', 'claims', 'max_assertion_lifetime_s'] as const
