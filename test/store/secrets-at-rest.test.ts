// Nothing secret is stored in clear (docs/reference/concepts.md, configuration.md; STYLE §5): client secrets only as keyed hashes, private
// signing keys only as AES-256-GCM ciphertexts under TALLY_KEY_ENCRYPTION_KEY, tokens only as digests.
import t from '../support/tap.js'
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { sql } from '../../server/store/kysely.js'
import { adminCall, ADMIN_SECRET, adminToken, build, KEK } from '../helper.js'
import { createClient, createResource, expectStatus } from '../support/admin.js'
import { tokenFor } from '../support/oauth.js'
import { decrypt } from '../../server/keys/crypto.js'

t.test('no client secret, private key member, PKCS#8 key or token appears in any column of any table', async (t) => {
  const app = await build(t)
  const admin = await adminToken(app)
  const { identifier: resource } = await createResource(app, admin)
  const client = await createClient(app, admin, { entitlements: [{ resource, scopes: ['read'] }] })
  const second = expectStatus(await adminCall(app, admin, 'POST', `/admin/identities/${client.id}/secrets`, {}))
  const token = await tokenFor(app, client)
  const secrets = [ADMIN_SECRET, client.secret, second.client_secret as string]

  const { rows: tables } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(app.tally.db)
  const names = tables.map((r) => r.table_name)
  const expected = ['identities', 'credentials', 'sessions', 'signing_keys', 'audit_events', 'epoch_events', 'entitlements', 'resources']
  t.strictSame(expected.filter((name) => !names.includes(name)), [], 'every table that holds secrets is dumped')
  let dump = ''
  for (const table of names) {
    const { rows } = await sql<{ row: string }>`select row_to_json(x)::text as row from ${sql.table(table)} x`.execute(app.tally.db)
    dump += rows.map((r) => r.row).join('\n') + '\n'
  }
  t.ok(dump.includes(client.id), 'the dump does hold the data (sanity)')
  t.ok(dump.includes('"private_key"'), 'signing_keys was dumped')
  // bytea columns come out of row_to_json as \x-hex; look for the secrets in that form too.
  const hex = (s: string): string => Buffer.from(s).toString('hex')
  const found = secrets.flatMap((secret, i) => [
    ...(dump.includes(secret) ? [`secret ${i} in clear`] : []),
    ...(dump.includes(secret.slice(8)) ? [`secret ${i} past its shown prefix`] : []),
    ...(dump.includes(hex(secret)) ? [`secret ${i} as hex`] : []),
    ...(dump.includes(Buffer.from(secret).toString('base64')) ? [`secret ${i} as base64`] : [])
  ])
  t.strictSame(found, [], 'no client secret is stored in clear, past its prefix, as hex or as base64')
  t.notOk(dump.includes(token), 'the access token is not stored')
  t.notOk(dump.includes(token.split('.')[2] as string), 'nor its signature')
  t.notOk(/"d"\s*:/.test(dump), 'no private JWK member "d"')
  t.notOk(/\\"d\\"\s*:/.test(dump), 'no private JWK member "d", escaped inside a JSON string')
  t.notOk(dump.includes('PRIVATE KEY'), 'no PEM private key')

  // A PKCS#8 DER of an EC P-256 key starts with this; in a bytea dump it would appear as hex.
  const { rows: keys } = await sql<{ kid: string, private_key: Uint8Array, public_jwk: any }>`select kid, private_key, public_jwk from signing_keys`.execute(app.tally.db)
  t.ok(keys.length >= 1, 'a signing key was generated at start')
  for (const key of keys) {
    const sealed = Buffer.from(key.private_key)
    const der = decrypt(Buffer.from(KEK, 'base64'), sealed, `tally signing key ${key.kid}`)
    t.notOk(dump.includes(der.toString('hex')), `${key.kid}: the PKCS#8 DER is not in the dump`)
    t.notOk(sealed.includes(der.subarray(0, 16)), `${key.kid}: the stored bytes do not contain the DER header`)
    t.throws(() => createPrivateKey({ key: sealed, format: 'der', type: 'pkcs8' }), `${key.kid}: the stored bytes are not a usable key`)
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    const pub = createPublicKey(privateKey).export({ format: 'jwk' })
    t.strictSame([pub.x, pub.y], [key.public_jwk.x, key.public_jwk.y], `${key.kid}: decrypts with the KEK to the published key`)
    const wrong = Buffer.alloc(32, 8)
    t.throws(() => decrypt(wrong, sealed, `tally signing key ${key.kid}`), `${key.kid}: another KEK cannot decrypt it`)
    t.throws(() => decrypt(Buffer.from(KEK, 'base64'), sealed, 'tally signing key another-kid'), `${key.kid}: bound to its kid`)
  }
})
