/**
 * The one way a change to access commits (docs/reference/concepts.md "epoch", admin-api.md; issue 9 findings 4 and 5).
 *
 * Every admin change and every revocation runs as `commitChange(db, actor, async (change) => …)`. Inside,
 * the work uses `change.trx` for its own reads and writes and these calls for everything the product's
 * central rule depends on:
 *
 * - `change.lockResources(ids, mode)`, then `change.lockIdentities(ids)` — the ONE lock order. Resources
 *   first (`share` to validate against them, `update` to change them), then identities in ascending id,
 *   then the work's own entitlement/credential rows; the feed-order advisory lock is taken by
 *   `commitChange` itself, last, just before the feed events are inserted. Two changes that follow the
 *   order cannot deadlock; one that did anyway (40P01) or lost a serialization race (40001) is retried.
 * - `change.narrow(identityIds, reason)` — the change narrows these identities' access: their epochs go up
 *   by one now (the new epochs are returned), and their feed events are appended at commit. A new kind of
 *   narrowing (a federated credential removed, a trust or delegation revoked) is one call of this, with its
 *   reason added to `NarrowingReason`.
 * - `change.revokeToken(session)` — one token revoked, with every token exchanged from it (docs/reference/delegation.md), their
 *   feed events appended at commit.
 * - `change.audit(entry)` — the audit row, in the same transaction (docs/reference/admin-api.md: every admin change).
 *
 * @example
 *   const epoch = await commitChange(db, adminId, async (change) => {
 *     await change.lockIdentities([identity.id])
 *     await revokeCredentialRow(change.trx, credentialId)
 *     const epochs = await change.narrow([identity.id], 'credential_revoked')
 *     await change.audit({ action: 'credential.revoke', identityId: identity.id })
 *     return epochs.get(identity.id)
 *   })
 *
 * The work may run more than once (each retry is a fresh transaction), so it must not have effects outside
 * `change.trx` until `commitChange` returns.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Db } from '../store/database.js'
import { recordAudit, type AuditEntry } from '../store/audit.js'
import { appendFeedEvents, epochBumps, raiseEpochs, type FeedEventRecord } from '../store/epochs.js'
import { lockIdentityRows } from '../store/identities.js'
import { lockResourceRows } from '../store/resources.js'
import { revokeDerivedSessions } from '../store/delegations.js'
import { markSessionRevoked, type SessionRecord } from '../store/sessions.js'
import type { IdentityRow, ResourceRow } from '../store/database.js'

/** Why an epoch went up; carried by the feed's epoch event. */
export type NarrowingReason = 'identity_disabled' | 'identity_deleted' | 'credential_revoked' | 'sessions_revoked'
  | 'resource_scope_removed' | 'entitlements_replaced' | 'entitlement_deleted'
  | 'trust_changed' | 'trust_removed' | 'delegation_narrowed' | 'delegation_removed'

export interface Change {
  /** The transaction: every read and write of the change goes through it. */
  readonly trx: Db
  /** Locks resources (ascending id), before any identity. Returns the locked rows, fresh. */
  lockResources: (ids: string[], mode: 'share' | 'update') => Promise<ResourceRow[]>
  /** Locks identities (ascending id) FOR UPDATE; ids already locked are skipped. Returns the rows, fresh. */
  lockIdentities: (ids: string[]) => Promise<IdentityRow[]>
  /** Bumps each identity's epoch once (locking it first if needed); feed events follow at commit. */
  narrow: (identityIds: string[], reason: NarrowingReason) => Promise<Map<string, number>>
  /** Marks one session revoked; false when it was already. Its feed event follows at commit. */
  revokeToken: (session: SessionRecord) => Promise<boolean>
  /** Writes the audit row for this change (the actor is the one given to commitChange). */
  audit: (entry: Omit<AuditEntry, 'actor'>) => Promise<void>
}

/** Postgres SQLSTATEs after which the whole transaction may simply be run again. */
const RETRYABLE = new Set(['40P01', '40001'])
const MAX_ATTEMPTS = 5

const isRetryable = (err: unknown): boolean => RETRYABLE.has((err as { code?: string } | null)?.code ?? '')

/**
 * Runs `work` in one transaction with the lock order, epoch bumps, feed events and audit rows described
 * above; retries a deadlocked or serialization-failed attempt up to 5 times (then the error propagates).
 */
export async function commitChange<T> (db: Db, actor: string | null, work: (change: Change) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const bumped: string[] = []
    try {
      const result = await db.transaction().execute(async (trx) => {
        const events: FeedEventRecord[] = []
        const locked = new Set<string>()
        const lockIdentities = async (ids: string[]): Promise<IdentityRow[]> => {
          const wanted = [...new Set(ids)].filter((id) => !locked.has(id)).sort()
          const rows = await lockIdentityRows(trx, wanted)
          for (const id of wanted) locked.add(id)
          return rows
        }
        const change: Change = {
          trx,
          lockResources: async (ids, mode) => {
            if (locked.size > 0) throw new Error('lock order: resources must be locked before identities')
            return await lockResourceRows(trx, [...new Set(ids)].sort(), mode)
          },
          lockIdentities,
          narrow: async (identityIds, reason) => {
            const ids = [...new Set(identityIds)].sort()
            await lockIdentities(ids)
            const epochs = await raiseEpochs(trx, ids)
            for (const id of ids) {
              events.push({ type: 'epoch', identityId: id, epoch: epochs.get(id) as number, reason })
              bumped.push(reason)
            }
            return epochs
          },
          revokeToken: async (session) => {
            if (!await markSessionRevoked(trx, session.jti)) return false
            events.push({ type: 'revoked', identityId: session.identityId, jti: session.jti, exp: session.exp })
            // docs/reference/delegation.md: every token exchanged from this one dies with it, in this transaction.
            for (const derived of await revokeDerivedSessions(trx, session.jti)) events.push({ type: 'revoked', ...derived })
            return true
          },
          audit: async (entry) => { await recordAudit(trx, { ...entry, actor }) }
        }
        const value = await work(change)
        await appendFeedEvents(trx, events) // the feed-order lock: last
        return value
      })
      for (const reason of bumped) epochBumps.emit('bump', reason)
      return result
    } catch (err) {
      if (!isRetryable(err) || attempt >= MAX_ATTEMPTS) throw err
      // Back off a little, with jitter, so the two rivals do not collide again at once.
      await sleep(Math.floor(Math.random() * 10 * attempt))
    }
  }
}
