// Property-based tests (fast-check) over the parsers that see untrusted bytes first: the form parser, the
// client-authentication parser and the access-token parser. Whatever the input, each either returns a
// value or throws one of our OAuth errors — never anything else, which would become a 500.
import t from '../support/tap.js'
import fc from 'fast-check'
import { parseForm } from '../../server/oauth/form.js'
import { presentedCredentials } from '../../server/oauth/client-auth.js'
import { parseAccessToken } from '../../server/oauth/access-token.js'
import { OAuthError } from '../../server/errors.js'

const onlyOAuthErrors = (fn: () => unknown): boolean => {
  try { fn(); return true } catch (err) { return err instanceof OAuthError && err.statusCode < 500 }
}

const formChars = fc.constantFrom('a', 'b', '=', '&', '%', '+', '2', '0', 'F', 'é', '\u0000', '[', ']', '%zz', '%C3', '%A9', '%00', 'client_id', 'resource', 'scope')
const formBody = fc.array(formChars, { maxLength: 40 }).map((parts) => parts.join(''))

t.test('parseForm never throws anything but an OAuth 4xx', async (t) => {
  fc.assert(fc.property(fc.oneof(formBody, fc.string(), fc.string({ unit: 'grapheme' })), (body) => onlyOAuthErrors(() => parseForm(body))), { numRuns: 3000 })
  t.pass()
})

t.test('parseForm round-trips what URLSearchParams encodes, with resource kept as a list', async (t) => {
  const name = fc.stringMatching(/^[a-z_]{1,12}$/).filter((n) => n !== 'resource')
  fc.assert(fc.property(fc.dictionary(name, fc.string({ minLength: 1, maxLength: 30 }).filter((v) => !v.includes('\u0000'))), fc.array(fc.string({ minLength: 1, maxLength: 20 }).filter((v) => !v.includes('\u0000')), { maxLength: 3 }), (params, resources) => {
    const body = new URLSearchParams(params)
    for (const r of resources) body.append('resource', r)
    const parsed = parseForm(body.toString())
    return JSON.stringify({ ...parsed.params }) === JSON.stringify(params) && JSON.stringify(parsed.resources) === JSON.stringify(resources)
  }), { numRuns: 1000 })
  t.pass()
})

t.test('a repeated parameter other than resource is always refused', async (t) => {
  fc.assert(fc.property(fc.stringMatching(/^[a-z_]{1,12}$/).filter((n) => n !== 'resource'), fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), (name, a, b) => {
    const body = `${encodeURIComponent(name)}=${encodeURIComponent(a)}&${encodeURIComponent(name)}=${encodeURIComponent(b)}`
    try { parseForm(body); return false } catch (err) { return err instanceof OAuthError && err.error === 'invalid_request' }
  }))
  t.pass()
})

t.test('presentedCredentials never throws anything but an OAuth 4xx', async (t) => {
  const header = fc.oneof(
    fc.constant(undefined),
    fc.string(),
    fc.string().map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
    fc.tuple(fc.string(), fc.string()).map(([a, b]) => `Basic ${Buffer.from(`${a}:${b}`).toString('base64')}`),
    fc.string().map((s) => `Bearer ${s}`)
  )
  const params = fc.record({
    client_id: fc.option(fc.string(), { nil: undefined }),
    client_secret: fc.option(fc.string(), { nil: undefined }),
    client_assertion: fc.option(fc.string(), { nil: undefined }),
    client_assertion_type: fc.option(fc.oneof(fc.string(), fc.constant('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')), { nil: undefined })
  }, { requiredKeys: [] })
  fc.assert(fc.property(header, params, (h, p) => onlyOAuthErrors(() => presentedCredentials(h, p as Record<string, string | undefined>))), { numRuns: 3000 })
  t.pass()
})

t.test('parseAccessToken returns undefined for anything that is not a well-formed Tally token', async (t) => {
  const segment = fc.oneof(fc.string(), fc.json().map((j) => Buffer.from(j).toString('base64url')), fc.base64String({ maxLength: 40 }))
  fc.assert(fc.property(fc.oneof(fc.string(), fc.tuple(segment, segment, segment).map((p) => p.join('.'))), (token) => {
    const parsed = parseAccessToken(token, 'http://localhost:8080')
    return parsed === undefined || (parsed.header.typ === 'at+jwt' && Number.isSafeInteger(parsed.claims.epoch))
  }), { numRuns: 3000 })
  t.pass()
})
