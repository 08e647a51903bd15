// GET /metrics (docs/reference/operations.md): Prometheus text with the counters and histograms operators need.
import t from '../support/tap.js'
import { adminToken, basic, build, FORM_TYPE, requestToken, ADMIN_SECRET } from '../helper.js'

t.test('/metrics counts tokens, introspections, auth failures and request latency', async (t) => {
  const app = await build(t)
  const token = await adminToken(app)
  await requestToken(app, 'admin', 'tly_wrong', { resource: 'urn:tally:admin' })
  await app.inject({ method: 'POST', url: '/introspect', headers: { authorization: basic('admin', ADMIN_SECRET), 'content-type': FORM_TYPE }, payload: `token=${token}` })
  await app.inject({ method: 'POST', url: '/introspect', headers: { authorization: basic('admin', ADMIN_SECRET), 'content-type': FORM_TYPE }, payload: 'token=nope' })
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const body = res.body
  t.match(body, /^tally_tokens_issued_total\{resource_kind="admin"\} 1$/m)
  t.match(body, /^tally_introspections_total\{outcome="active"\} 1$/m)
  t.match(body, /^tally_introspections_total\{outcome="inactive"\} 1$/m)
  t.match(body, /^tally_client_auth_failures_total\{method="client_secret_basic"\} 1$/m)
  t.match(body, /^tally_http_request_duration_seconds_count\{method="POST",route="\/token",status_code="200"\} 1$/m)
  t.match(body, /^tally_feed_subscribers 0$/m)
  t.match(body, /^tally_feed_lag_seconds /m)
  t.notMatch(body, /tly_/, 'no secret leaks into metrics')
})
