// One bounded load run with autocannon (programmatic API) against 127.0.0.1, while the server's process
// tree (and, for Tally, its Postgres backends) is metered from /proc.
import autocannon from 'autocannon'
import { TreeMeter } from './proc-stats.js'

export interface BenchRequest { path: string, headers: Record<string, string>, body: string }

export interface RunResult {
  reqPerS: number
  p50Ms: number
  p99Ms: number
  non2xx: number
  total: number
  serverCores: number
  dbCores: number
  loadgenCores: number
  machineCores: number
  /** Cores used by processes outside this measurement (other work on the machine): noise. */
  otherCores: number
  peakRssMb: number
}

export interface LoadOptions {
  url: string
  connections: number
  durationS: number
  /** Called for every request; rotate clients and tokens here. */
  next: () => BenchRequest
  serverPid: number
  /** Postgres backend pids serving this server (re-read at the end, so new connections count too). */
  dbPids?: () => Promise<number[]>
}

export async function runLoad (options: LoadOptions): Promise<RunResult> {
  const before = options.dbPids === undefined ? [] : await options.dbPids()
  const meter = new TreeMeter(options.serverPid)
  meter.begin(before)
  const selfCpu0 = process.cpuUsage()
  const t0 = performance.now()
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationS,
    pipelining: 1,
    timeout: 10,
    requests: [{
      method: 'POST',
      setupRequest (req) {
        const r = options.next()
        req.path = r.path
        req.headers = r.headers
        req.body = r.body
        return req
      }
    }]
  })
  const wall = (performance.now() - t0) / 1000
  const self = process.cpuUsage(selfCpu0)
  const after = options.dbPids === undefined ? [] : await options.dbPids()
  const m = meter.end(after)
  return {
    reqPerS: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx + result.errors + result.timeouts,
    total: result.requests.total,
    serverCores: m.cores,
    dbCores: m.extraCores,
    loadgenCores: (self.user + self.system) / 1e6 / wall,
    machineCores: m.machineCores,
    otherCores: Math.max(0, m.machineCores - m.cores - m.extraCores - (self.user + self.system) / 1e6 / wall),
    peakRssMb: m.peakRssMb
  }
}
