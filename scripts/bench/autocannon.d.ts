// autocannon ships no type declarations; these cover the programmatic API the bench uses.
declare module 'autocannon' {
  interface Histogram { average: number, mean: number, p50: number, p90: number, p99: number, max: number, total: number }
  export interface Result {
    requests: Histogram & { sent: number }
    latency: Histogram
    throughput: Histogram
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    mismatches: number
    '2xx': number
  }
  export interface RawRequest { method?: string, path?: string, headers?: Record<string, string>, body?: string | Buffer }
  export interface Options {
    url: string
    connections?: number
    duration?: number
    pipelining?: number
    timeout?: number
    requests?: Array<RawRequest & { setupRequest?: (req: RawRequest, context: Record<string, unknown>) => RawRequest }>
  }
  export interface Instance extends PromiseLike<Result> { stop: () => void }
  function autocannon (options: Options): Instance
  export default autocannon
}
