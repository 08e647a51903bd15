// Output: aligned tables for people, JSON for scripts (--json), one value per line where that is all there is.

export type Column<T> = [header: string, value: (row: T) => unknown]

const cell = (v: unknown): string => {
  if (v === null || v === undefined) return '-'
  if (Array.isArray(v)) return v.length === 0 ? '-' : v.join(' ')
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

export function table<T> (rows: T[], columns: Array<Column<T>>): string {
  if (rows.length === 0) return '(none)\n'
  const cells = rows.map((r) => columns.map(([, pick]) => cell(pick(r))))
  const widths = columns.map(([h], i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)))
  const line = (values: string[]): string => values.map((v, i) => i === values.length - 1 ? v : v.padEnd(widths[i] as number)).join('  ').trimEnd()
  return [line(columns.map(([h]) => h.toUpperCase())), ...cells.map(line)].join('\n') + '\n'
}

/** Key: value lines for one object. */
export function record (obj: Record<string, unknown>, keys: string[] = Object.keys(obj)): string {
  const width = Math.max(...keys.map((k) => k.length))
  return keys.map((k) => `${(k + ':').padEnd(width + 1)} ${cell(obj[k])}`).join('\n') + '\n'
}

export interface Out { json: boolean, write: (text: string) => void }

export function print<T> (out: Out, value: unknown, human: () => string): void {
  out.write(out.json ? JSON.stringify(value, null, 2) + '\n' : human())
}
