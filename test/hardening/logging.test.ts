// Issue 9 finding 10: query strings are logged without their values, and error descriptions never echo a
// parameter name Tally does not know (it could be a misplaced secret).
import t from '../support/tap.js'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import { loggerOptions, redactUrl } from '../../server/logger.js'
import { build, FORM_TYPE } from '../helper.js'

const SECRET = 'tly_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG'

t.test('the logged URL keeps known names and drops every value', async (t) => {
  t.equal(redactUrl(`/epochs?client_secret=${SECRET}&after=abc`), '/epochs?client_secret=_&after=_')
  t.equal(redactUrl(`/token?${SECRET}&token=eyJ.x.y`), '/token?_=_&token=_', 'an unknown name is not logged either')
  t.equal(redactUrl('/admin/identities'), '/admin/identities')
})

t.test('a request line logged through Tally\'s logger options carries no secret', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  const options = loggerOptions('info') as Record<string, unknown>
  const app = Fastify({ logger: { ...options, stream } })
  app.get('/epochs', async () => ({}))
  await app.inject({ method: 'GET', url: `/epochs?client_secret=${SECRET}&access_token=${SECRET}x` })
  await app.close()
  const incoming = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'incoming request')
  t.equal(incoming?.req?.url, '/epochs?client_secret=_&access_token=_', 'the URL is redacted')
  t.notOk(lines.join('\n').includes(SECRET), 'the secret appears nowhere in the log')
})

t.test('error descriptions name only parameters Tally knows', async (t) => {
  const app = await build(t)
  const post = async (payload: string): Promise<unknown> => (await app.inject({ method: 'POST', url: '/token', headers: { 'content-type': FORM_TYPE }, payload })).json()
  t.strictSame(await post(`grant_type=client_credentials&${SECRET}=1&${SECRET}=2`), { error: 'invalid_request', error_description: 'duplicate parameter' }, 'an unknown duplicated name is not echoed')
  t.strictSame(await post(`grant_type=client_credentials&${SECRET}[a]=1`), { error: 'invalid_request', error_description: 'unsupported parameter name' }, 'nor a bracketed one')
  t.strictSame(await post('grant_type=client_credentials&scope=a&scope=b'), { error: 'invalid_request', error_description: 'duplicate parameter: scope' }, 'a known name is')
})
