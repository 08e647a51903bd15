// JSON bodies for the admin API: Fastify's own parser (which refuses __proto__ and constructor.prototype
// keys), behind a nesting-depth check on the raw text — deeply nested JSON would otherwise overflow the
// stack in whatever walks it later and turn a client's mistake into a 500.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { InvalidRequest } from '../errors.js'

export const MAX_JSON_DEPTH = 32

/** The deepest nesting of objects and arrays in a JSON text, ignoring brackets inside strings. */
export function jsonNestingDepth (text: string): number {
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
    parseJson(request, body as string, done)
  })
}

export default fp(jsonBodyPlugin, { name: 'json-body' })
