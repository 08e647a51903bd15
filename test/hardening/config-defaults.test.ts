// Issue 10 item 7 (ISSUER follows PORT) and issue 9 finding 6 (TRUST_PROXY, fastify trustProxy semantics).
import t from '../support/tap.js'
import { ConfigError, loadConfig } from '../../server/config.js'
import { KEK, testDataDir } from '../helper.js'

const env = (extra: Record<string, string>): Record<string, string> => ({ DATA_DIR: testDataDir(), TALLY_KEY_ENCRYPTION_KEY: KEK, ...extra })

t.test('ISSUER defaults to http://localhost:<PORT>', async (t) => {
  t.equal(loadConfig(env({ PORT: '3000' })).issuer, 'http://localhost:3000', 'PORT alone moves the issuer')
  t.equal(loadConfig(env({})).issuer, 'http://localhost:8080', 'the default port')
  t.equal(loadConfig(env({ PORT: '3000', ISSUER: 'https://auth.example.com' })).issuer, 'https://auth.example.com', 'an explicit ISSUER wins')
})

t.test('TRUST_PROXY', async (t) => {
  t.equal(loadConfig(env({})).trustProxy, false, 'off by default')
  t.equal(loadConfig(env({ TRUST_PROXY: 'false' })).trustProxy, false)
  t.equal(loadConfig(env({ TRUST_PROXY: 'true' })).trustProxy, true)
  t.equal(loadConfig(env({ TRUST_PROXY: '2' })).trustProxy, 2, 'a hop count')
  t.strictSame(loadConfig(env({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.1,::1,fd00::/8' })).trustProxy, ['10.0.0.0/8', '192.168.1.1', '::1', 'fd00::/8'], 'addresses and CIDRs')
  for (const bad of ['yes', '10.0.0.0/33', '10.0.0.1,nonsense', '0']) {
    let problems: string[] = []
    try { loadConfig(env({ TRUST_PROXY: bad })) } catch (err) { if (err instanceof ConfigError) problems = err.problems }
    t.match(problems, [/^TRUST_PROXY: /], `"${bad}" stops the start with one line naming TRUST_PROXY`)
  }
})
