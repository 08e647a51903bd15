// The admin API (docs/reference/admin-api.md): JSON, guarded by Tally's own tokens for urn:tally:admin.
import type { FastifyInstance } from 'fastify'
import resourceRoutes from './resources.js'
import identityRoutes from './identities.js'
import credentialRoutes from './credentials.js'
import entitlementRoutes from './entitlements.js'
import sessionRoutes from './sessions.js'
import auditRoutes from './audit.js'
import keyRoutes from './keys.js'
import trustRoutes from './trusts.js'
import reviewRoutes from './review.js'
import delegationRoutes from './delegations.js'

export default async function adminRoutes (app: FastifyInstance): Promise<void> {
  await app.register(resourceRoutes)
  await app.register(identityRoutes)
  await app.register(credentialRoutes)
  await app.register(entitlementRoutes)
  await app.register(sessionRoutes)
  await app.register(auditRoutes)
  await app.register(keyRoutes)
  await app.register(trustRoutes)
  await app.register(reviewRoutes)
  await app.register(delegationRoutes)
}
