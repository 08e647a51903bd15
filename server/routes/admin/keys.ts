// POST /admin/keys/rotate (docs/reference/admin-api.md): publish a new signing key now and sign with it after the
// pre-publication delay — or, with `emergency`, at once, removing the old keys and their tokens.
import type { FastifyInstance } from 'fastify'
import { rotateSigningKey, type RotationResult } from '../../keys/rotation.js'
import { recordAudit } from '../../store/audit.js'

export default async function keyRoutes (app: FastifyInstance): Promise<void> {
  const { config, db, keys } = app.tally
  app.post<{ Body: { emergency?: boolean } | undefined }>('/keys/rotate', {
    preHandler: app.requireAdmin('admin:write'),
    schema: { body: { type: ['object', 'null'], additionalProperties: false, properties: { emergency: { type: 'boolean' } } } }
  }, async function rotateKeys (request) {
    const emergency = request.body?.emergency === true
    const result = await rotateSigningKey(db, config.keyEncryptionKey, {
      emergency, prePublicationS: config.keyPrePublicationS, tokenTtlMaxS: config.tokenTtlMaxS
    }) as RotationResult
    await recordAudit(db, { actor: request.admin.identityId, action: emergency ? 'keys.rotate.emergency' : 'keys.rotate', after: result })
    await keys.reload()
    return result
  })
}
