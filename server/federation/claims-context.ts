// The context of a verified assertion (docs/reference/federation.md): the trust's `claims` mapping, {"<context key>": "<claim
// path>"}, read out of the assertion's claims. A path is dot-separated names into nested objects; since
// claim names may themselves hold dots ("kubernetes.io"), at each level the longest run of names that is a
// key of the object wins, so "kubernetes.io.namespace" reaches {"kubernetes.io": {"namespace": …}}.
import type { Context } from '../entitlements/context.js'

/** The value at `path` in `claims`, or undefined when some level lacks it. */
export function claimAt (claims: unknown, path: string): unknown {
  const names = path.split('.')
  let node: unknown = claims
  let i = 0
  while (i < names.length) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined
    const object = node as Record<string, unknown>
    let next = -1
    for (let end = names.length; end > i; end--) {
      if (Object.hasOwn(object, names.slice(i, end).join('.'))) { next = end; break }
    }
    if (next < 0) return undefined
    node = object[names.slice(i, next).join('.')]
    i = next
  }
  return node
}

/** Builds the flat context: a missing claim leaves its key out; a non-string value is JSON-encoded. */
export function buildContext (claims: Record<string, unknown>, mapping: Record<string, string>): Context {
  const ctx: Context = {}
  for (const [key, path] of Object.entries(mapping)) {
    const value = claimAt(claims, path)
    if (value === undefined) continue
    ctx[key] = typeof value === 'string' ? value : JSON.stringify(value)
  }
  return ctx
}
