// What every command's action gets: the admin API client built from the global options, and the output.
import type { Command } from 'commander'
import { connection, Tally, type GlobalOptions } from './client.js'
import type { Out } from './output.js'

export interface Ctx { tally: Tally, out: Out, options: GlobalOptions }

export function ctxOf (command: Command): Ctx {
  const options = command.optsWithGlobals<GlobalOptions>()
  return {
    tally: new Tally(connection(options)),
    out: { json: options.json === true, write: (text) => { process.stdout.write(text) } },
    options
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
