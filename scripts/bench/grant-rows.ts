// Two request generators on one Tally, warmed up, then measured in alternating order (so drift on a busy
// machine falls on both rows alike): the shape of the jwt-bearer and token-exchange rows beside
// client_credentials.
import { runLoad, type BenchRequest, type RunResult } from './load.js'
import type { Server } from './servers.js'
import { log, settings } from './settings.js'
import { backendPids, type TallyDeployment } from './tally.js'

export interface GrantRow { grant: string, runs: RunResult[] }

export async function alternateGrants (tally: Server, dep: TallyDeployment, rows: [GrantRow, GrantRow],
  next: [() => BenchRequest, () => BenchRequest], warmupS: number): Promise<GrantRow[]> {
  for (const gen of next) await runLoad({ url: tally.url, connections: settings.connections, durationS: Math.min(settings.warmupS, warmupS), next: gen, serverPid: tally.pid })
  for (let run = 0; run < settings.runs; run++) {
    for (const i of run % 2 === 0 ? [0, 1] as const : [1, 0] as const) {
      const r = await runLoad({ url: tally.url, connections: settings.connections, durationS: settings.durationS, next: next[i], serverPid: tally.pid, dbPids: async () => await backendPids(dep) })
      rows[i].runs.push(r)
      log(`${rows[i].grant} run ${run + 1}: ${Math.round(r.reqPerS)} tokens/s, non-2xx ${r.non2xx}`)
    }
  }
  return rows
}
