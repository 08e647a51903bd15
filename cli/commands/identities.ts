// tally identities | secrets | keys | federated | credentials (docs/reference/admin-api.md, federation.md).
import { readFileSync } from 'node:fs'
import { Command, InvalidArgumentError } from 'commander'
import { CliError, query, seg } from '../client.js'
import { ctxOf, pairs, positiveInt } from '../context.js'
import { print, record, table } from '../output.js'

const IDENTITY_KEYS = ['id', 'client_id', 'kind', 'name', 'status', 'epoch', 'token_ttl_s', 'last_token_at', 'created_at']

const wrap = <T>(parse: (v: string) => T) => (v: string): T => {
  try { return parse(v) } catch (err) { throw new InvalidArgumentError((err as Error).message) }
}

export function identitiesCommand (): Command {
  const cmd = new Command('identities').description('list, show, create, change and delete identities')

  cmd.command('list').description('list identities')
    .option('--kind <kind>', 'only this kind').option('--status <status>', 'active, disabled or deleted')
    .action(async (opts: { kind?: string, status?: string }, c: Command) => {
      const { tally, out } = ctxOf(c)
      const items = await tally.all(`/identities${query({ kind: opts.kind, status: opts.status, limit: 200 })}`)
      print(out, items, () => table(items, [['client_id', (i) => i.client_id], ['kind', (i) => i.kind], ['status', (i) => i.status],
        ['epoch', (i) => i.epoch], ['last_token_at', (i) => i.last_token_at], ['id', (i) => i.id]]))
    })

  cmd.command('show').alias('get').description('an identity with its entitlements and credentials')
    .argument('<identity>', 'client_id or UUID')
    .action(async (identity: string, _opts: unknown, c: Command) => {
      const { tally, out } = ctxOf(c)
      const body = await tally.admin('GET', `/identities/${seg(identity)}`)
      print(out, body, () => record(body, IDENTITY_KEYS) +
        '\nentitlements:\n' + table(body.entitlements as any[], [['id', (e) => e.id], ['resource', (e) => e.resource], ['scopes', (e) => e.scopes],
          ['conditions', (e) => e.conditions], ['expires_at', (e) => e.expires_at], ['last_used_at', (e) => e.last_used_at]]) +
        '\ncredentials:\n' + table(body.credentials as any[], [['id', (k) => k.id], ['type', (k) => k.type], ['prefix/kid', (k) => k.prefix ?? k.kid ?? k.subject],
          ['expires_at', (k) => k.expires_at], ['revoked_at', (k) => k.revoked_at], ['last_used_at', (k) => k.last_used_at]]))
    })

  cmd.command('create').description('create an identity')
    .argument('<client_id>', 'the new identity\'s client_id')
    .requiredOption('--kind <kind>', 'service_account, workload, agent, automation, resource_server or admin')
    .option('--name <name>', 'a display name')
    .option('--token-ttl <seconds>', 'token lifetime', wrap(positiveInt))
    .option('--metadata <key=value>', 'metadata (repeatable)', wrap(pairs))
    .action(async (clientId: string, opts: { kind: string, name?: string, tokenTtl?: number, metadata?: Record<string, string> }, c: Command) => {
      const { tally, out } = ctxOf(c)
      const body = await tally.admin('POST', '/identities', {
        client_id: clientId, kind: opts.kind, ...(opts.name !== undefined && { name: opts.name }),
        ...(opts.tokenTtl !== undefined && { token_ttl_s: opts.tokenTtl }), ...(opts.metadata !== undefined && { metadata: opts.metadata })
      })
      print(out, body, () => record(body, IDENTITY_KEYS.filter((k) => k !== 'last_token_at')))
    })

  cmd.command('update').description('change status, name or token lifetime')
    .argument('<identity>', 'client_id or UUID')
    .option('--status <status>', 'active or disabled (disabling bumps the epoch)')
    .option('--name <name>', 'a display name')
    .option('--token-ttl <seconds>', 'token lifetime', wrap(positiveInt))
    .action(async (identity: string, opts: { status?: string, name?: string, tokenTtl?: number }, c: Command) => {
      const { tally, out } = ctxOf(c)
      const body = await tally.admin('PATCH', `/identities/${seg(identity)}`, {
        ...(opts.status !== undefined && { status: opts.status }), ...(opts.name !== undefined && { name: opts.name }),
        ...(opts.tokenTtl !== undefined && { token_ttl_s: opts.tokenTtl })
      })
      print(out, body, () => record(body, IDENTITY_KEYS.filter((k) => k !== 'last_token_at')))
    })

  for (const [name, status, what] of [['disable', 'disabled', 'disable an identity (bumps the epoch)'], ['enable', 'active', 'enable a disabled identity']] as const) {
    cmd.command(name).description(what).argument('<identity>', 'client_id or UUID')
      .action(async (identity: string, _opts: unknown, c: Command) => {
        const { tally, out } = ctxOf(c)
        const body = await tally.admin('PATCH', `/identities/${seg(identity)}`, { status })
        print(out, body, () => `${body.client_id as string}: ${body.status as string}, epoch ${body.epoch as number}\n`)
      })
  }

  cmd.command('delete').description('delete an identity: credentials revoked, epoch bumped, UUID never reused')
    .argument('<identity>', 'client_id or UUID')
    .action(async (identity: string, _opts: unknown, c: Command) => {
      const { tally, out } = ctxOf(c)
      await tally.admin('DELETE', `/identities/${seg(identity)}`)
      print(out, { deleted: identity }, () => `deleted ${identity}\n`)
    })
  return cmd
}

export function secretsCommand (): Command {
  const cmd = new Command('secrets').description('client secrets')
  cmd.command('create').description('generate a client secret; printed once, to standard output only')
    .argument('<identity>', 'client_id or UUID')
    .option('--expires-at <time>', 'RFC 3339 expiry')
    .action(async (identity: string, opts: { expiresAt?: string }, c: Command) => {
      const { tally, out, io } = ctxOf(c)
      const body = await tally.admin('POST', `/identities/${seg(identity)}/secrets`, opts.expiresAt !== undefined ? { expires_at: opts.expiresAt } : {})
      print(out, body, () => `${body.client_secret as string}\n`)
      if (!out.json) io.stderr(`credential ${body.id as string}: this is the only time the secret is shown\n`)
    })
  return cmd
}

function readJwk (opts: { jwk?: string, jwkFile?: string }): unknown {
  const text = opts.jwkFile !== undefined ? readFileSync(opts.jwkFile, 'utf8') : opts.jwk
  if (text === undefined) throw new CliError('pass --jwk <json> or --jwk-file <path>')
  try { return JSON.parse(text) } catch { throw new CliError('the JWK is not JSON') }
}

export function keysCommand (): Command {
  const cmd = new Command('keys').description('public keys for private_key_jwt, and Tally\'s signing-key rotation')
  cmd.command('add').description('register a public JWK for an identity')
    .argument('<identity>', 'client_id or UUID')
    .option('--jwk <json>', 'the public JWK').option('--jwk-file <path>', 'a file holding the public JWK')
    .option('--expires-at <time>', 'RFC 3339 expiry')
    .action(async (identity: string, opts: { jwk?: string, jwkFile?: string, expiresAt?: string }, c: Command) => {
      const { tally, out } = ctxOf(c)
      const body = await tally.admin('POST', `/identities/${seg(identity)}/keys`, { jwk: readJwk(opts), ...(opts.expiresAt !== undefined && { expires_at: opts.expiresAt }) })
      print(out, body, () => record(body, ['id', 'type', 'kid', 'alg', 'expires_at', 'created_at']))
    })
  cmd.command('rotate').description('rotate Tally\'s signing key (published now, signing after the pre-publication delay)')
    .option('--emergency', 'sign with the new key at once and retire the old key\'s tokens')
    .action(async (opts: { emergency?: boolean }, c: Command) => {
      const { tally, out } = ctxOf(c)
      const body = await tally.admin('POST', '/keys/rotate', { emergency: opts.emergency === true })
      print(out, body, () => record(body))
    })
  return cmd
}

export function federatedCommand (): Command {
  const cmd = new Command('federated').description('federated credentials: workloads that present a platform token (docs/reference/federation.md)')
  cmd.command('add').description('let a workload of a trusted issuer act as this identity')
    .argument('<identity>', 'client_id or UUID')
    .requiredOption('--issuer <iss>', 'the trust\'s issuer').requiredOption('--subject <sub>', 'the workload\'s exact sub')
    .option('--match <key=value>', 'context that must hold (repeatable)', wrap(pairs))
    .action(async (identity: string, opts: { issuer: string, subject: string, match?: Record<string, string> }, c: Command) => {
      const { tally, out } = ctxOf(c)
      const body = await tally.admin('POST', `/identities/${seg(identity)}/federated`, { issuer: opts.issuer, subject: opts.subject, ...(opts.match !== undefined && { match: opts.match }) })
      print(out, body, () => record(body))
    })
  cmd.command('list').description('an identity\'s federated credentials').argument('<identity>', 'client_id or UUID')
    .action(async (identity: string, _opts: unknown, c: Command) => {
      const { tally, out } = ctxOf(c)
      const items = ((await tally.admin('GET', `/identities/${seg(identity)}`)).credentials as any[]).filter((k) => k.type === 'federated')
      print(out, items, () => table(items, [['id', (k) => k.id], ['issuer', (k) => k.issuer], ['subject', (k) => k.subject], ['match', (k) => k.match], ['last_used_at', (k) => k.last_used_at]]))
    })
  return cmd
}

export function credentialsCommand (): Command {
  const cmd = new Command('credentials').description('an identity\'s credentials: list, revoke')
  cmd.command('list').description('secrets, keys and federated credentials, with last use').argument('<identity>', 'client_id or UUID')
    .action(async (identity: string, _opts: unknown, c: Command) => {
      const { tally, out } = ctxOf(c)
      const items = (await tally.admin('GET', `/identities/${seg(identity)}`)).credentials as any[]
      print(out, items, () => table(items, [['id', (k) => k.id], ['type', (k) => k.type], ['prefix/kid', (k) => k.prefix ?? k.kid ?? k.subject],
        ['expires_at', (k) => k.expires_at], ['revoked_at', (k) => k.revoked_at], ['last_used_at', (k) => k.last_used_at]]))
    })
  cmd.command('revoke').description('revoke one credential (bumps the epoch)')
    .argument('<identity>', 'client_id or UUID').argument('<credential>', 'credential id')
    .action(async (identity: string, credential: string, _opts: unknown, c: Command) => {
      const { tally, out } = ctxOf(c)
      await tally.admin('DELETE', `/identities/${seg(identity)}/credentials/${seg(credential)}`)
      const { epoch } = await tally.admin('GET', `/identities/${seg(identity)}`)
      print(out, { revoked: credential, epoch }, () => `revoked ${credential}; epoch is now ${epoch as number}\n`)
    })
  return cmd
}
