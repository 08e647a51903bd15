// JSON bodies for the admin API: Fastify's own parser (which refuses __proto__ and constructor.prototype
// keys), behind a nesting-depth check on the raw text — deeply nested JSON would otherwise overflow the
// stack in whatever walks it later and turn a client's mistake into a 500 — and a check that no string
// holds a NUL, which Postgres refuses in text and jsonb alike (a 500 otherwise), naming the field.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { InvalidRequest } from '../errors.js'

const MAX_JSON_DEPTH = 32

/** The deepest nesting of objects and arrays in a JSON text, ignoring brackets inside strings. */
function jsonNestingDepth (text: string): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // backslash: skip the escaped character
      else if (c === 0x22) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > deepest) deepest = depth
    } else if (c === 0x7d || c === 0x5d) {
      depth--
    }
  }
  return deepest
}

/** The path (`body/metadata/team`) of the first string or member name holding a NUL, if any. */
function pathWithNul (value: unknown, path = 'body'): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined
  if (typeof value !== 'object' || value === null) return undefined
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = pathWithNul(value[i], `${path}/${i}`)
      if (found !== undefined) return found
    }
    return undefined
  }
  for (const [key, member] of Object.entries(value)) {
    if (key.includes('\u0000')) return path
    const found = pathWithNul(member, `${path}/${key.slice(0, 64)}`)
    if (found !== undefined) return found
  }
  return undefined
}

async function jsonBodyPlugin (app: FastifyInstance): Promise<void> {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, function parseBoundedJson (request, body, done) {
    // An empty body is no body (`curl -X POST -H 'content-type: application/json'`): endpoints whose
    // fields are all optional accept it, the others fail validation with a message naming the field.
    if (body === '') {
      done(null, undefined)
      return
    }
    if (jsonNestingDepth(body as string) > MAX_JSON_DEPTH) {
      done(new InvalidRequest(`the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined)
      return
    }
    parseJson(request, body as string, (err: Error | null, parsed?: unknown) => {
      if (err !== null) { done(err, undefined); return }
      const nul = pathWithNul(parsed)
      if (nul !== undefined) { done(new InvalidRequest(`${nul} must not contain NUL characters`), undefined); return }
      done(null, parsed)
    })
  })
}

export default fp(jsonBodyPlugin, { name: 'json-body' })
