// Fresh, valid Tally access tokens in bulk, for the verifier's "new tokens" rate: a verifier that caches
// by token must see each token once, and issuing tens of thousands through /token would take minutes.
// Each copies the claims of a token Tally issued, with a new jti and iat, signed with Tally's current key
// (loaded from the deployment's database with the server's own keystore code).
import { randomUUID } from 'node:crypto'
import { Kysely, PostgresDialect } from '../../server/store/kysely.js'
import pg from 'pg'
import { currentSigningKey, loadSigningKeys, signJwt } from '../../server/keys/keystore.js'
import type { Database } from '../../server/store/database.js'
import type { TallyDeployment } from './tally.js'

export async function mintTokens (dep: TallyDeployment, template: string, count: number): Promise<string[]> {
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: dep.databaseUrl, max: 1 }) }) })
  try {
    const key = currentSigningKey(await loadSigningKeys(db, dep.kek))
    if (key === undefined) throw new Error('no current signing key')
    const claims = JSON.parse(Buffer.from(template.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>
    const out: string[] = []
    const iat = Math.floor(Date.now() / 1000)
    for (let i = 0; i < count; i++) out.push(signJwt(key, { typ: 'at+jwt' }, { ...claims, iat, jti: randomUUID() }))
    return out
  } finally {
    await db.destroy()
  }
}
