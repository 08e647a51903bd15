// Signing keys, shared by every instance through the database. The private part is stored only as an
// AES-256-GCM ciphertext. Each instance reloads the key set periodically, so a rotation made anywhere
// reaches everyone; a new key is published ("next") before any instance signs with it.
import { createPrivateKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint, type JWK } from 'jose'
import type { Db } from '../store/database.js'
import { hasLiveSigningKey, insertSigningKey, lockSigningKeys, selectPublishedSigningKeys } from '../store/signing-keys.js'
import { decrypt, encrypt } from './crypto.js'
import { lowS } from './low-s.js'

export interface PublicJwk extends JWK { kid: string, alg: string, use: 'sig' }

export interface SigningKey {
  kid: string
  alg: 'ES256'
  publicJwk: PublicJwk
  privateKey: KeyObject
  state: 'next' | 'active' | 'retired'
  activatesAt: number
  expiresAt: number | null
}

/** Generates an ES256 key pair and stores it encrypted; `state` is 'active' or 'next'. */
export async function createSigningKey (db: Db, kek: Buffer, state: 'next' | 'active', activatesAt: Date): Promise<string> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' }) as JWK
  const kid = await calculateJwkThumbprint(jwk)
  const publicJwk: PublicJwk = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, kid, alg: 'ES256', use: 'sig' }
  const sealed = encrypt(kek, privateKey.export({ format: 'der', type: 'pkcs8' }), `tally signing key ${kid}`)
  await insertSigningKey(db, { kid, publicJwk, sealedPrivateKey: sealed, state, activatesAt })
  return kid
}

/** On first start (by any instance, under a lock) makes the first key. */
export async function ensureSigningKey (db: Db, kek: Buffer): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await lockSigningKeys(trx)
    if (!await hasLiveSigningKey(trx)) await createSigningKey(trx, kek, 'active', new Date())
  })
}

export async function loadSigningKeys (db: Db, kek: Buffer): Promise<SigningKey[]> {
  const rows = await selectPublishedSigningKeys(db)
  return rows.map((row) => ({
    kid: row.kid,
    alg: 'ES256',
    publicJwk: row.public_jwk as PublicJwk,
    privateKey: createPrivateKey({ key: decrypt(kek, row.private_key, `tally signing key ${row.kid}`), format: 'der', type: 'pkcs8' }),
    state: row.state as SigningKey['state'],
    activatesAt: row.activates_at.getTime(),
    expiresAt: row.expires_at?.getTime() ?? null
  }))
}

/**
 * The key to sign with now: the most recently activated key that is active, or next and due.
 * A 'next' key whose time has come signs even before a rotation job marks it active, so instances
 * switch over by the clock, not by who saw the change first.
 */
export function currentSigningKey (keys: SigningKey[], now = Date.now()): SigningKey | undefined {
  let best: SigningKey | undefined
  for (const key of keys) {
    if (key.state === 'retired' || key.activatesAt > now) continue
    if (best === undefined || key.activatesAt > best.activatesAt) best = key
  }
  return best
}

const b64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/**
 * RFC 7515 compact serialisation, signed with node:crypto and a cached KeyObject (about 3× jose's
 * WebCrypto path). ES256 signatures are R ‖ S (RFC 7518 §3.4), hence ieee-p1363, always in low-S form.
 */
export function signJwt (key: SigningKey, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64url({ ...header, alg: key.alg, kid: key.kid })}.${b64url(payload)}`
  const signature = lowS(cryptoSign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }))
  return `${input}.${signature.toString('base64url')}`
}
