// Bench knobs, from the environment and the command line (see index.ts).
const num = (name: string, fallback: number): number => {
  const raw = process.env[name]
  return raw === undefined || raw === '' ? fallback : Number(raw)
}
const args = new Set(process.argv.slice(2))
export const settings = {
  durationS: num('BENCH_DURATION_S', 10),
  runs: num('BENCH_RUNS', 3),
  warmupS: num('BENCH_WARMUP_S', 3),
  connections: num('BENCH_CONNECTIONS', 50),
  clients: num('BENCH_CLIENTS', 1000),
  verifyS: num('BENCH_VERIFY_S', 2),
  tallyWorkers: num('BENCH_TALLY_WORKERS', 1),
  growth: args.has('--growth') || process.env.BENCH_GROWTH === '1',
  profile: args.has('--profile') || process.env.BENCH_PROFILE === '1',
  compare: !args.has('--no-compare'),
  /** The jwt-bearer row beside client_credentials (issue 12): with the comparison, or alone with --jwt-bearer. */
  jwtBearer: args.has('--jwt-bearer') || (!args.has('--no-compare') && !args.has('--no-jwt-bearer')),
  /** The token-exchange row (issue 14): with the comparison, or alone with --token-exchange. */
  tokenExchange: args.has('--token-exchange') || (!args.has('--no-compare') && !args.has('--no-token-exchange'))
}


export type Settings = typeof settings

export const log = (msg: string): void => { process.stderr.write(`bench: ${msg}\n`) }
