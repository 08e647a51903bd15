// The `tally` command's program (docs/reference/review.md): a client of the admin API for people (tables) and scripts (--json).
// It holds the admin token in memory for one command and never writes a secret anywhere but standard
// output, when that is what was asked for.
import { Command, CommanderError } from 'commander'
import { CliError } from './client.js'
import { processIo, setIo, type Io } from './context.js'
import { credentialsCommand, federatedCommand, identitiesCommand, keysCommand, secretsCommand } from './commands/identities.js'
import { delegationsCommand, entitlementsCommand, resourcesCommand } from './commands/access.js'
import { auditCommand, reviewCommand, revokeSessionsCommand, sessionsCommand, tokenCommand } from './commands/ops.js'

export function program (io: Io = processIo): Command {
  const output = { writeOut: io.stdout, writeErr: io.stderr }
  const root = new Command('tally')
    .description('Manage a Tally token issuer: identities, credentials, entitlements, delegations, sessions and the access review.')
    .option('--url <url>', 'Tally\'s base URL (env TALLY_URL, default http://localhost:8080)')
    .option('--client-id <id>', 'admin client_id (env TALLY_CLIENT_ID)')
    .option('--client-secret <secret>', 'admin client secret (env TALLY_CLIENT_SECRET; prefer the environment: flags show up in process lists)')
    .option('--bootstrap-file <path>', 'read client_id and client_secret from <DATA_DIR>/bootstrap-admin.json')
    .option('--json', 'print JSON for scripts instead of tables')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput(output)
  setIo(root, io)
  for (const make of [identitiesCommand, secretsCommand, keysCommand, federatedCommand, credentialsCommand, resourcesCommand,
    entitlementsCommand, delegationsCommand, revokeSessionsCommand, sessionsCommand, reviewCommand, auditCommand, tokenCommand]) {
    const cmd = make()
    cmd.exitOverride().configureOutput(output)
    for (const sub of cmd.commands) sub.exitOverride().configureOutput(output)
    root.addCommand(cmd)
  }
  return root
}

/** Runs the command in `argv` (process.argv's shape); resolves to the exit code. */
export async function main (argv: string[], io: Io = processIo): Promise<number> {
  try {
    await program(io).parseAsync(argv)
    return 0
  } catch (err) {
    if (err instanceof CommanderError) return err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' ? 0 : err.exitCode === 0 ? 0 : 2
    io.stderr(`tally: ${err instanceof CliError ? err.message : (err as Error).message}\n`)
    return err instanceof CliError ? err.exitCode : 1
  }
}

