// "Revoke all sessions" of one identity (docs/reference/endpoints.md /revoke `identity`, §5 revoke-sessions): one epoch bump.
// The admin route and /revoke both come here, so it is written once.
import type { Db } from '../store/database.js'
import { commitChange } from './change.js'

/**
 * Bumps the live identity's epoch and audits `sessions.revoke` (with `reason` when one is given). Returns the new epoch, or undefined when
 * the identity is deleted (or gone) by the time it is locked.
 */
export async function revokeAllSessions (db: Db, actor: string, identityId: string, reason?: string | null): Promise<number | undefined> {
  return await commitChange(db, actor, async (change) => {
    const [identity] = await change.lockIdentities([identityId])
    if (identity === undefined || identity.status === 'deleted') return undefined
    const epoch = (await change.narrow([identity.id], 'sessions_revoked')).get(identity.id) as number
    await change.audit({ action: 'sessions.revoke', identityId: identity.id, before: { epoch: identity.epoch }, after: reason === undefined ? { epoch } : { epoch, reason } })
    return epoch
  })
}
