// tally resources | entitlements | delegations (docs/reference/admin-api.md, delegation.md).
import { readFileSync } from 'node:fs'
import { Command, InvalidArgumentError } from 'commander'
import { CliError, query, seg } from '../client.js'
import { ctxOf, list, pairs, positiveInt } from '../context.js'
import { print, record, table } from '../output.js'

const wrap = <T>(parse: (v: string) => T) => (v: string): T => {
  try { return parse(v) } catch (err) { throw new InvalidArgumentError((err as Error).message) }
}

export function resourcesCommand (): Command {
  const cmd = new Command('resources').description('APIs that accept Tally tokens')
  cmd.command('list').description('list resources').action(async (_opts: unknown, c: Command) => {
    const { tally, out } = ctxOf(c)
    const items = await tally.all('/resources?limit=200')
    print(out, items, () => table(items, [['identifier', (r) => r.identifier], ['scopes', (r) => r.scopes], ['max_token_ttl_s', (r) => r.max_token_ttl_s], ['introspectors', (r) => r.introspectors]]))
  })
  cmd.command('create').description('register a resource')
    .argument('<identifier>', 'absolute URI or URN: the tokens\' aud')
    .requiredOption('--scopes <list>', 'its scopes, comma-separated', list)
    .option('--name <name>', 'a display name')
    .option('--max-token-ttl <seconds>', 'cap on token lifetime', wrap(positiveInt))
    .option('--introspectors <list>', 'client_ids allowed to introspect its tokens', list)
    .action(async (identifier: string, opts: { scopes: string[], name?: string, maxTokenTtl?: number, introspectors?: string[] }, c: Command) => {
      const { tally, out } = ctxOf(c)
      const body = await tally.admin('POST', '/resources', {
        identifier, scopes: opts.scopes, ...(opts.name !== undefined && { name: opts.name }),
        ...(opts.maxTokenTtl !== undefined && { max_token_ttl_s: opts.maxTokenTtl }), ...(opts.introspectors !== undefined && { introspectors: opts.introspectors })
      })
      print(out, body, () => record(body, ['id', 'identifier', 'scopes', 'max_token_ttl_s', 'introspectors']))
    })
  return cmd
}

const entitlementColumns: Array<[string, (e: any) => unknown]> = [['id', (e) => e.id], ['resource', (e) => e.resource], ['scopes', (e) => e.scopes],
  ['conditions', (e) => e.conditions], ['expires_at', (e) => e.expires_at], ['last_used_at', (e) => e.last_used_at]]

/** The shape POST and PUT take, from an entitlement as the API shows it. */
const asInput = (e: any): Record<string, unknown> => ({
  resource: e.resource, scopes: e.scopes, ...(e.conditions !== null && { conditions: e.conditions }),
  ...(e.expires_at !== null && { expires_at: e.expires_at }), ...(e.reason !== null && { reason: e.reason })
})

export function entitlementsCommand (): Command {
  const cmd = new Command('entitlements').description('durable grants: identity × resource × scopes')
  cmd.command('list').description('an identity\'s entitlements, with last use').argument('<identity>', 'client_id or UUID')
    .action(async (identity: string, _opts: unknown, c: Command) => {
      const { tally, out } = ctxOf(c)
      const items = (await tally.admin('GET', `/identities/${seg(identity)}`)).entitlements as any[]
      print(out, items, () => table(items, entitlementColumns))
    })
  cmd.command('add').description('grant scopes of a resource (an addition: no epoch bump)')
    .argument('<identity>', 'client_id or UUID')
    .requiredOption('--resource <identifier>', 'the resource').requiredOption('--scopes <list>', 'scopes, comma-separated', list)
    .option('--condition <key=value>', 'a condition (repeatable)', wrap(pairs))
    .option('--expires-at <time>', 'RFC 3339 expiry').option('--reason <text>', 'why')
    .action(async (identity: string, opts: { resource: string, scopes: string[], condition?: Record<string, string>, expiresAt?: string, reason?: string }, c: Command) => {
      const { tally, out } = ctxOf(c)
      const body = await tally.admin('POST', `/identities/${seg(identity)}/entitlements`, {
        resource: opts.resource, scopes: opts.scopes, ...(opts.condition !== undefined && { conditions: opts.condition }),
        ...(opts.expiresAt !== undefined && { expires_at: opts.expiresAt }), ...(opts.reason !== undefined && { reason: opts.reason })
      })
      print(out, body, () => record(body, ['id', 'resource', 'scopes', 'conditions', 'expires_at', 'reason', 'granted_by']))
    })
  cmd.command('remove').description('remove an entitlement (bumps the epoch)')
    .argument('<identity>', 'client_id or UUID').argument('<entitlement>', 'entitlement id')
    .action(async (identity: string, entitlement: string, _opts: unknown, c: Command) => {
      const { tally, out } = ctxOf(c)
      await tally.admin('DELETE', `/identities/${seg(identity)}/entitlements/${seg(entitlement)}`)
      const { epoch } = await tally.admin('GET', `/identities/${seg(identity)}`)
      print(out, { removed: entitlement, epoch }, () => `removed ${entitlement}; epoch is now ${epoch as number}\n`)
    })
  cmd.command('remove-scope').description('take scopes away from one entitlement (bumps the epoch; an entitlement left with none is removed)')
    .argument('<identity>', 'client_id or UUID').argument('<entitlement>', 'entitlement id').argument('<scopes...>', 'the scopes to remove')
    .action(async (identity: string, entitlement: string, scopes: string[], _opts: unknown, c: Command) => {
      const { tally, out } = ctxOf(c)
      const current = (await tally.admin('GET', `/identities/${seg(identity)}`)).entitlements as any[]
      if (!current.some((e) => e.id === entitlement)) throw new CliError(`no entitlement ${entitlement} on ${identity}`)
      const next = current.map((e) => e.id === entitlement ? { ...e, scopes: (e.scopes as string[]).filter((s) => !scopes.includes(s)) } : e)
        .filter((e) => e.scopes.length > 0).map(asInput)
      const body = await tally.admin('PUT', `/identities/${seg(identity)}/entitlements`, next)
      print(out, body, () => table(body.items as any[], entitlementColumns) + `epoch: ${body.epoch as number}\n`)
    })
  cmd.command('set').description('replace the whole set from a JSON array (one bump if it narrows)')
    .argument('<identity>', 'client_id or UUID').requiredOption('--file <path>', 'JSON array of {resource, scopes, conditions?, expires_at?, reason?}; - for standard input')
    .action(async (identity: string, opts: { file: string }, c: Command) => {
      const { tally, out } = ctxOf(c)
      let set: unknown
      try { set = JSON.parse(readFileSync(opts.file === '-' ? 0 : opts.file, 'utf8')) } catch (err) { throw new CliError(`cannot read ${opts.file}: ${(err as Error).message}`) }
      const body = await tally.admin('PUT', `/identities/${seg(identity)}/entitlements`, set)
      print(out, body, () => table(body.items as any[], entitlementColumns) + `epoch: ${body.epoch as number}\n`)
    })
  return cmd
}

export function delegationsCommand (): Command {
  const cmd = new Command('delegations').description('let an actor act for a subject on a resource (docs/reference/delegation.md)')
  const columns: Array<[string, (d: any) => unknown]> = [['id', (d) => d.id], ['subject', (d) => d.subject], ['actor', (d) => d.actor], ['resource', (d) => d.resource],
    ['scopes', (d) => d.scopes], ['expires_at', (d) => d.expires_at]]
  cmd.command('list').description('delegations the identity gave (or, with --received, was given as actor)')
    .argument('<identity>', 'client_id or UUID').option('--received', 'those where it is the actor')
    .action(async (identity: string, opts: { received?: boolean }, c: Command) => {
      const { tally, out } = ctxOf(c)
      const items = await tally.all(`/identities/${seg(identity)}/delegations${query({ as: opts.received === true ? 'actor' : undefined })}`)
      print(out, items, () => table(items, columns))
    })
  cmd.command('add').description('delegate scopes of a resource to an actor')
    .argument('<subject>', 'client_id or UUID of the subject')
    .requiredOption('--actor <identity>', 'the actor').requiredOption('--resource <identifier>', 'the resource')
    .requiredOption('--scopes <list>', 'scopes, comma-separated', list)
    .option('--expires-at <time>', 'RFC 3339 expiry').option('--reason <text>', 'why')
    .action(async (subject: string, opts: { actor: string, resource: string, scopes: string[], expiresAt?: string, reason?: string }, c: Command) => {
      const { tally, out } = ctxOf(c)
      const body = await tally.admin('POST', `/identities/${seg(subject)}/delegations`, {
        actor: opts.actor, resource: opts.resource, scopes: opts.scopes,
        ...(opts.expiresAt !== undefined && { expires_at: opts.expiresAt }), ...(opts.reason !== undefined && { reason: opts.reason })
      })
      print(out, body, () => record(body))
    })
  cmd.command('update').description('change a delegation\'s scopes or expiry (narrowing bumps the actor\'s epoch)')
    .argument('<subject>', 'client_id or UUID').argument('<delegation>', 'delegation id')
    .option('--scopes <list>', 'scopes, comma-separated', list).option('--expires-at <time>', 'RFC 3339 expiry')
    .action(async (subject: string, delegation: string, opts: { scopes?: string[], expiresAt?: string }, c: Command) => {
      const { tally, out } = ctxOf(c)
      const body = await tally.admin('PATCH', `/identities/${seg(subject)}/delegations/${seg(delegation)}`, {
        ...(opts.scopes !== undefined && { scopes: opts.scopes }), ...(opts.expiresAt !== undefined && { expires_at: opts.expiresAt })
      })
      print(out, body, () => record(body))
    })
  cmd.command('remove').description('remove a delegation (bumps the actor\'s epoch)')
    .argument('<subject>', 'client_id or UUID').argument('<delegation>', 'delegation id')
    .action(async (subject: string, delegation: string, _opts: unknown, c: Command) => {
      const { tally, out } = ctxOf(c)
      await tally.admin('DELETE', `/identities/${seg(subject)}/delegations/${seg(delegation)}`)
      print(out, { removed: delegation }, () => `removed ${delegation}\n`)
    })
  return cmd
}
