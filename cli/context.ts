// What every command's action gets: the admin API client built from the global options, and the output.
import type { Command } from 'commander'
import { connection, Tally, type GlobalOptions } from './client.js'
import type { Out } from './output.js'

/** Where a run of the program reads its environment and writes: the process's own, unless main() is given others. */
export interface Io {
  env: NodeJS.ProcessEnv
  stdout: (text: string) => void
  stderr: (text: string) => void
}

export const processIo: Io = {
  env: process.env,
  stdout: (text) => { process.stdout.write(text) },
  stderr: (text) => { process.stderr.write(text) }
}

// The Io of each program (its root command), set by program().
const ios = new WeakMap<Command, Io>()

export function setIo (root: Command, io: Io): void {
  ios.set(root, io)
}

function ioOf (command: Command): Io {
  let root = command
  while (root.parent !== null) root = root.parent
  return ios.get(root) ?? processIo
}

export interface Ctx { tally: Tally, out: Out, options: GlobalOptions, io: Io }

export function ctxOf (command: Command): Ctx {
  const options = command.optsWithGlobals<GlobalOptions>()
  const io = ioOf(command)
  return {
    tally: new Tally(connection(options, io.env)),
    out: { json: options.json === true, write: io.stdout },
    options,
    io
  }
}

/** `key=value` pairs (repeatable options) into an object. */
export function pairs (value: string, previous: Record<string, string> = {}): Record<string, string> {
  const i = value.indexOf('=')
  if (i <= 0) throw new Error(`expected key=value, got "${value}"`)
  return { ...previous, [value.slice(0, i)]: value.slice(i + 1) }
}

/** A comma- or space-separated list. */
export const list = (value: string): string[] => value.split(/[\s,]+/).filter((s) => s !== '')

export const positiveInt = (value: string): number => {
  if (!/^[1-9][0-9]*$/.test(value)) throw new Error(`expected a positive integer, got "${value}"`)
  return Number(value)
}
