// CPU time and memory of a process tree, read from /proc (Linux only). CPU is utime + stime in clock
// ticks; memory is VmRSS (now) and VmHWM (the kernel's peak RSS for the process's lifetime).
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { cpus } from 'node:os'

let ticksPerSecond: number | undefined

/** Clock ticks per second (getconf CLK_TCK, 100 on practically every Linux). */
export function clockTicks (): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticksPerSecond = 100
    }
  }
  return ticksPerSecond
}

interface StatLine { ppid: number, ticks: number, comm: string }

function readStat (pid: number): StatLine | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // comm may contain spaces and parentheses: fields resume after the LAST ')'.
    const close = raw.lastIndexOf(')')
    const comm = raw.slice(raw.indexOf('(') + 1, close)
    const fields = raw.slice(close + 2).split(' ')
    // After comm: state(0) ppid(1) ... utime(11) stime(12)
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]), comm }
  } catch {
    return undefined
  }
}

/** The pid and every live descendant (a cluster's workers, a tsx loader's child). */
export function processTree (root: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = readStat(Number(entry))
    if (stat === undefined) continue
    const list = children.get(stat.ppid) ?? []
    list.push(Number(entry))
    children.set(stat.ppid, list)
  }
  const out: number[] = []
  const stack = [root]
  while (stack.length > 0) {
    const pid = stack.pop() as number
    out.push(pid)
    for (const child of children.get(pid) ?? []) stack.push(child)
  }
  return out
}

/** CPU ticks (user + system) used so far by each pid. */
export function cpuTicksByPid (pids: number[]): Map<number, number> {
  const out = new Map<number, number>()
  for (const pid of pids) {
    const stat = readStat(pid)
    if (stat !== undefined) out.set(pid, stat.ticks)
  }
  return out
}

function statusKb (pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match === null ? 0 : Number(match[1])
  } catch {
    return 0
  }
}

export const rssKb = (pid: number): number => statusKb(pid, 'VmRSS')
export const hwmKb = (pid: number): number => statusKb(pid, 'VmHWM')

/** Busy and total jiffies of the whole machine (first line of /proc/stat). */
export function machineTicks (): { busy: number, total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] as string
  const v = line.trim().split(/\s+/).slice(1).map(Number)
  const idle = (v[3] ?? 0) + (v[4] ?? 0)
  const total = v.reduce((a, b) => a + b, 0)
  return { busy: total - idle, total }
}

/**
 * Measures one process tree (plus extra pids, e.g. the database backends serving it) over a window:
 * CPU used in cores (CPU seconds / wall seconds), and the peak of the tree's summed RSS sampled every
 * `intervalMs`. A pid that appears during the window counts from zero.
 */
export class TreeMeter {
  #root: number
  #start = new Map<number, number>()
  #startExtra = new Map<number, number>()
  #t0 = 0
  #peakRssKb = 0
  #timer: NodeJS.Timeout | undefined
  #m0 = { busy: 0, total: 0 }

  constructor (root: number) {
    this.#root = root
  }

  begin (extraPids: number[] = [], intervalMs = 200): void {
    this.#t0 = performance.now()
    this.#start = cpuTicksByPid(processTree(this.#root))
    this.#startExtra = cpuTicksByPid(extraPids)
    this.#m0 = machineTicks()
    this.#peakRssKb = this.#sampleRss()
    this.#timer = setInterval(() => { this.#peakRssKb = Math.max(this.#peakRssKb, this.#sampleRss()) }, intervalMs)
  }

  #sampleRss (): number {
    return processTree(this.#root).reduce((sum, pid) => sum + rssKb(pid), 0)
  }

  end (extraPids: number[] = []): { seconds: number, cores: number, extraCores: number, machineCores: number, peakRssMb: number, hwmMb: number } {
    clearInterval(this.#timer)
    const seconds = (performance.now() - this.#t0) / 1000
    const hz = clockTicks()
    const delta = (start: Map<number, number>, now: Map<number, number>): number => {
      let ticks = 0
      for (const [pid, t] of now) ticks += t - (start.get(pid) ?? 0)
      return ticks
    }
    const pids = processTree(this.#root)
    const cores = delta(this.#start, cpuTicksByPid(pids)) / hz / seconds
    const extraCores = delta(this.#startExtra, cpuTicksByPid(extraPids)) / hz / seconds
    const m1 = machineTicks()
    // /proc/stat's first line sums every CPU, so busy/total is a fraction of the whole machine.
    const machineCores = (m1.busy - this.#m0.busy) / Math.max(1, m1.total - this.#m0.total) * cpus().length
    this.#peakRssKb = Math.max(this.#peakRssKb, this.#sampleRss())
    const hwm = pids.reduce((sum, pid) => sum + hwmKb(pid), 0)
    return { seconds, cores, extraCores, machineCores, peakRssMb: this.#peakRssKb / 1024, hwmMb: hwm / 1024 }
  }
}
