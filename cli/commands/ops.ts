// tally revoke-sessions | sessions | review | audit | token (get, decode, introspect, revoke).
import { readFileSync } from 'node:fs'
import { Command, InvalidArgumentError } from 'commander'
import { CliError, query, seg } from '../client.js'
import { ctxOf, positiveInt } from '../context.js'
import { print, record, table } from '../output.js'

const wrap = <T>(parse: (v: string) => T) => (v: string): T => {
  try { return parse(v) } catch (err) { throw new InvalidArgumentError((err as Error).message) }
}

export function revokeSessionsCommand (): Command {
  return new Command('revoke-sessions').description('make every token of an identity stale (bumps the epoch)')
    .argument('<identity>', 'client_id or UUID').option('--reason <text>', 'why (audited)')
    .action(async (identity: string, opts: { reason?: string }, c: Command) => {
      const { tally, out } = ctxOf(c)
      const body = await tally.admin('POST', `/identities/${seg(identity)}/revoke-sessions`, opts.reason !== undefined ? { reason: opts.reason } : {})
      print(out, body, () => `epoch is now ${body.epoch as number}\n`)
    })
}

export function sessionsCommand (): Command {
  return new Command('sessions').description('an identity\'s unexpired sessions (active, stale or revoked)')
    .argument('<identity>', 'client_id or UUID')
    .action(async (identity: string, _opts: unknown, c: Command) => {
      const { tally, out } = ctxOf(c)
      const items = await tally.all(`/identities/${seg(identity)}/sessions`)
      print(out, items, () => table(items, [['jti', (s) => s.jti], ['state', (s) => s.revoked === true ? 'revoked' : s.stale === true ? 'stale' : 'active'],
        ['epoch', (s) => s.epoch], ['resource', (s) => s.resource], ['scope', (s) => s.scope], ['iat', (s) => s.iat], ['exp', (s) => s.exp]]))
    })
}

export function reviewCommand (): Command {
  return new Command('review').description('rights nobody used in the last --days days (docs/reference/review.md)')
    .option('--days <n>', 'the window, 1–400', wrap(positiveInt), 30)
    .option('--identity <identity>', 'one identity only').option('--kind <kind>', 'a finding kind (unused_scope, …) or an identity kind')
    .action(async (opts: { days: number, identity?: string, kind?: string }, c: Command) => {
      const { tally, out } = ctxOf(c)
      const items = await tally.all(`/review${query({ days: opts.days, identity: opts.identity, kind: opts.kind, limit: 500 })}`)
      print(out, items, () => table(items, [['kind', (f) => f.kind], ['identity', (f) => f.identity.client_id],
        ['what', (f) => f.kind === 'unused_scope' ? `${f.resource as string} ${(f.scopes as string[]).join(' ')}` : f.kind === 'unused_entitlement' ? f.resource : f.kind === 'unused_credential' ? f.type : '-'],
        ['id', (f) => f.entitlement_id ?? f.credential_id ?? f.identity.id], ['last_used_at', (f) => f.last_used_at ?? 'never'], ['since', (f) => f.since]]))
    })
}

export function auditCommand (): Command {
  return new Command('audit').description('the audit log, oldest first')
    .option('--identity <identity>', 'one identity only').option('--after <id>', 'entries after this id').option('--limit <n>', 'at most n entries', wrap(positiveInt), 100)
    .action(async (opts: { identity?: string, after?: string, limit: number }, c: Command) => {
      const { tally, out } = ctxOf(c)
      const body = await tally.admin('GET', `/audit${query({ identity: opts.identity, after: opts.after, limit: opts.limit })}`)
      print(out, body, () => table(body.items as any[], [['id', (e) => e.id], ['at', (e) => e.at], ['action', (e) => e.action], ['identity', (e) => e.identity], ['actor', (e) => e.actor]]))
    })
}

/** A token argument, or standard input when it is "-". */
function tokenArg (value: string): string {
  const token = value === '-' ? readFileSync(0, 'utf8').trim() : value.trim()
  if (token === '') throw new CliError('no token given')
  return token
}

function decodeJwt (token: string): { header: unknown, payload: unknown } {
  const [h, p] = token.split('.')
  try {
    return { header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString('utf8')), payload: JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')) }
  } catch {
    throw new CliError('not a JWT')
  }
}

const seconds = (v: unknown): string => typeof v === 'number' ? `${v} (${new Date(v * 1000).toISOString()})` : String(v)

export function tokenCommand (): Command {
  const cmd = new Command('token').description('get, decode, introspect or revoke an access token')
  cmd.command('get').description('a token for the configured client (client credentials); printed to standard output')
    .option('--resource <identifier>', 'the audience').option('--scope <scopes>', 'space-separated scopes')
    .action(async (opts: { resource?: string, scope?: string }, c: Command) => {
      const { tally, out } = ctxOf(c)
      const body = await tally.oauth('/token', { grant_type: 'client_credentials', ...(opts.resource !== undefined && { resource: opts.resource }), ...(opts.scope !== undefined && { scope: opts.scope }) }) as Record<string, unknown>
      print(out, body, () => `${body.access_token as string}\n`)
    })
  cmd.command('decode').description('show a JWT\'s header and claims, without verifying it (no server needed)')
    .argument('<token>', 'the token, or - to read it from standard input')
    .action(async (token: string, _opts: unknown, c: Command) => {
      const { out } = ctxOf(c)
      const decoded = decodeJwt(tokenArg(token))
      const p = decoded.payload as Record<string, unknown>
      print(out, decoded, () => 'header:  ' + JSON.stringify(decoded.header) + '\n' +
        record({ ...p, iat: seconds(p.iat), exp: seconds(p.exp), entitlements: JSON.stringify(p.entitlements) }))
    })
  cmd.command('introspect').description('ask Tally whether a token is active (RFC 7662), as the configured client')
    .argument('<token>', 'the token, or - to read it from standard input')
    .action(async (token: string, _opts: unknown, c: Command) => {
      const { tally, out } = ctxOf(c)
      const body = await tally.oauth('/introspect', { token: tokenArg(token) }) as Record<string, unknown>
      print(out, body, () => body.active === true ? record({ ...body, iat: seconds(body.iat), exp: seconds(body.exp), entitlements: JSON.stringify(body.entitlements) }) : 'active: false\n')
    })
  cmd.command('revoke').description('revoke a token (RFC 7009), as the configured client')
    .argument('<token>', 'the token, or - to read it from standard input')
    .action(async (token: string, _opts: unknown, c: Command) => {
      const { tally, out } = ctxOf(c)
      const body = await tally.oauth('/revoke', { token: tokenArg(token) })
      print(out, body, () => 'revoked\n')
    })
  return cmd
}
