// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: self time by function, self time
// by category (Tally code, pg driver, Kysely, Fastify, crypto, JSON, GC, idle…), and inclusive time of
// the functions that matter for the hot paths.
import { readFileSync } from 'node:fs'

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, hitCount?: number, children?: number[] }
interface CpuProfile { nodes: ProfileNode[], startTime: number, endTime: number, samples: number[], timeDeltas: number[] }

export interface ProfileSummary {
  totalMs: number
  /** Share of samples in which the thread was idle (waiting on I/O). */
  idleShare: number
  categories: Array<{ name: string, share: number }>
  topSelf: Array<{ fn: string, share: number }>
  inclusive: Array<{ fn: string, share: number }>
  /** Busy time by budget line (BUDGET), each sample charged to the innermost frame on its stack that names a line. */
  budget: Array<{ line: string, share: number }>
}

// The CPU budget of a request (docs/performance.md): a sample is charged to the innermost frame of its stack that
// matches one of these, in this order of lines; a stack matching none is "other".
const BUDGET: Array<[string, (fn: string, url: string) => boolean]> = [
  ['signing (ES256, JWS encoding)', (fn, url) => /^(signJwt|lowS|b64url)$/.test(fn) && url.includes('/keys/')],
  ['token digest (SHA-256 of the token)', (fn) => fn === 'tokenDigest'],
  ['client auth (secret HMAC, credential match)', (fn, url) => (fn === 'hashSecret' && url.includes('/keys/')) || /\/server\/oauth\/(client-auth|client-assertion|safe-text|throttle)\.js/.test(url)],
  ['platform assertion (RS256 verify in jose, trust and claim checks)', (_fn, url) => url.includes('/server/federation/') || url.includes('node_modules/jose/')],
  ['SQL + pg protocol (driver, Kysely, grouping)', (fn, url) => /node_modules\/(pg|pg-protocol|pg-pool|pg-types|postgres-[a-z]+|kysely)\//.test(url) || url.includes('/store/')],
  ['logging (pino)', (_fn, url) => /node_modules\/(pino|sonic-boom|thread-stream)\//.test(url)],
  ['metrics (prom-client)', (fn, url) => url.includes('node_modules/prom-client/') || fn === 'observeLatency'],
  ['HTTP write (reply serialisation, socket write)', (fn, url) => /^(onSendEnd|onSendHook|serialize|send|writeHead|_writeRaw|_send|end)$/.test(fn) && /fastify\/lib\/reply|_http_outgoing|_http_server/.test(url)],
  ['HTTP parse (llhttp, routing, form body)', (fn, url) => /parser|_http_common|_http_server|_http_incoming|find-my-way|fastify\/lib\/(route|handle-request|content-type-parser|request)|\/plugins\/form-body|\/oauth\/form/.test(url) || fn === 'parserOnHeadersComplete' || fn === 'parserOnBody'],
  ['GC', (fn) => fn === '(garbage collector)'],
  ['grant / introspection logic (Tally)', (_fn, url) => isTally(url)]
]

// Tally's own code: under server/, but not a dependency (the bench's build lives in node_modules/.cache).
const isTally = (url: string): boolean => url.includes('/server/') && !/node_modules\/(?!\.cache\/)/.test(url)

function category (frame: CallFrame): string {
  const { url, functionName: fn } = frame
  if (fn === '(idle)') return 'idle (waiting for I/O)'
  if (fn === '(garbage collector)') return 'GC'
  if (fn === '(program)') return 'V8/native (program)'
  if (/node_modules\/(pg|pg-protocol|pg-pool|pg-types|pgpass|postgres-)/.test(url)) return 'pg driver'
  if (url.includes('node_modules/kysely')) return 'Kysely'
  if (/node_modules\/(fastify|find-my-way|avvio|light-my-request|fast-json-stringify|@fastify|fast-querystring|content-type|secure-json-parse|toad-cache|process-warning|abstract-logging)/.test(url)) return 'Fastify'
  if (/node_modules\/(pino|sonic-boom|thread-stream)/.test(url)) return 'logging'
  if (url.includes('node_modules/oidc-provider') || url.includes('node_modules/koa') || url.includes('node_modules/@koa')) return 'oidc-provider/koa'
  if (url.includes('node_modules/jose')) return 'jose'
  if (isTally(url)) return 'Tally code'
  if (/node:internal\/crypto|node:crypto/.test(url)) return 'crypto (node:crypto)'
  if (fn === 'stringify' || fn === 'parse' || fn.startsWith('JSON')) return 'JSON'
  if (/node:(net|_http|http|internal\/(http|stream|streams|net|js_stream|timers|async_hooks)|stream|events|internal\/process)/.test(url)) return 'node http/net/streams/timers'
  if (url === '') return `builtin ${fn || '(anonymous)'}`
  if (url.startsWith('node:')) return 'node other'
  return 'other JS'
}

function label (frame: CallFrame): string {
  const file = frame.url.replace(/^.*\/(node_modules\/)/, '$1').replace(/^.*\/(dist\/|tally-bench\/dist\/)/, '').replace(/^file:\/\//, '')
  return `${frame.functionName || '(anonymous)'} ${file}${frame.url ? ':' + String(frame.lineNumber + 1) : ''}`
}

/** Inclusive time is summed per function name over the call tree, counting a function once per stack. */
export function summariseProfile (path: string, inclusiveOf: RegExp, windowUs?: [number, number]): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  // V8 stamps samples with CLOCK_MONOTONIC microseconds, the clock of process.hrtime in every process, so
  // the bench can keep only the samples of its measured window (not start-up, pool issuing or shutdown).
  let inWindow = (_t: number): boolean => true
  if (windowUs !== undefined && windowUs[0] < profile.endTime && windowUs[1] > profile.startTime) {
    inWindow = (t) => t >= windowUs[0] && t <= windowUs[1]
  }
  // Per-node time from samples × time deltas. V8 samples on a wall-clock timer: a thread that is
  // descheduled inside a system call keeps being charged to that call.
  const selfUs = new Map<number, number>()
  let t = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0
    if (!inWindow(t)) continue
    const id = profile.samples[i] as number
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0))
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0) || 1
  const cats = new Map<string, number>()
  const fns = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const node = byId.get(id)
    if (node === undefined) continue
    const c = category(node.callFrame)
    cats.set(c, (cats.get(c) ?? 0) + us)
    const l = label(node.callFrame)
    fns.set(l, (fns.get(l) ?? 0) + us)
  }
  // Inclusive: walk from the root carrying the set of interesting function names on the stack.
  const incl = new Map<string, number>()
  const root = profile.nodes[0] as ProfileNode
  const walk = (node: ProfileNode, onStack: Set<string>): void => {
    let here = onStack
    const name = label(node.callFrame)
    if (inclusiveOf.test(name) && !onStack.has(name)) { here = new Set(onStack); here.add(name) }
    const us = selfUs.get(node.id) ?? 0
    if (us > 0) for (const n of here) incl.set(n, (incl.get(n) ?? 0) + us)
    for (const child of node.children ?? []) { const c = byId.get(child); if (c !== undefined) walk(c, here) }
  }
  walk(root, new Set())
  // Budget: from each sampled node up to the root, the first frame that names a line.
  const parent = new Map<number, ProfileNode>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n)
  const lineOf = new Map<number, string>()
  const budgetLine = (node: ProfileNode): string => {
    const known = lineOf.get(node.id)
    if (known !== undefined) return known
    let line = 'other (Fastify hooks, promises, timers, V8)'
    for (let n: ProfileNode | undefined = node; n !== undefined; n = parent.get(n.id)) {
      const hit = BUDGET.find(([, test]) => test(n?.callFrame.functionName ?? '', n?.callFrame.url ?? ''))
      if (hit !== undefined) { line = hit[0]; break }
    }
    lineOf.set(node.id, line)
    return line
  }
  const budget = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const node = byId.get(id)
    if (node === undefined || node.callFrame.functionName === '(idle)') continue
    const line = budgetLine(node)
    budget.set(line, (budget.get(line) ?? 0) + us)
  }
  const idle = cats.get('idle (waiting for I/O)') ?? 0
  const busy = total - idle || 1
  const sorted = (m: Map<string, number>, denom: number, n: number): Array<{ key: string, share: number }> =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([key, us]) => ({ key, share: us / denom }))
  return {
    totalMs: total / 1000,
    idleShare: idle / total,
    // Shares below are of the BUSY (non-idle) time.
    categories: sorted(new Map([...cats].filter(([k]) => !k.startsWith('idle'))), busy, 14).map(({ key, share }) => ({ name: key, share })),
    topSelf: sorted(new Map([...fns].filter(([k]) => !k.startsWith('(idle)'))), busy, 25).map(({ key, share }) => ({ fn: key, share })),
    inclusive: sorted(incl, busy, 30).map(({ key, share }) => ({ fn: key, share })),
    budget: sorted(budget, busy, 20).map(({ key, share }) => ({ line: key, share }))
  }
}
