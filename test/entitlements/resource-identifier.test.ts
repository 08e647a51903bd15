// RFC 3986 §6.2.2–6.2.3 equivalence of resource identifiers (docs/reference/endpoints.md): a table of spellings that name one
// resource, and of spellings that stay distinct.
import t from '../support/tap.js'
import { equivalentResource, resourceKey } from '../../server/entitlements/resource-identifier.js'

const same: Array<[string, string]> = [
  ['https://mcp.example.com', 'https://mcp.example.com/'],
  ['https://mcp.example.com', 'https://MCP.Example.COM:443/'],
  ['HTTPS://mcp.example.com/mcp', 'https://mcp.example.com/mcp'],
  ['https://mcp.example.com:/mcp', 'https://mcp.example.com/mcp'],
  ['http://api.example:80', 'http://api.example/'],
  ['http://api.example:0080/x', 'http://api.example/x'],
  ['wss://api.example:443', 'wss://api.example/'],
  ['https://api.example/%7Euser/a%2fb', 'https://api.example/~user/a%2Fb'],
  ['https://api.example/a/./b/../c', 'https://api.example/a/c'],
  ['https://api.example/x?q=%7e', 'https://api.example/x?q=~'],
  ['https://[2001:DB8::1]:443/', 'https://[2001:db8::1]']
]
const distinct: Array<[string, string]> = [
  ['https://mcp.example.com/mcp', 'https://mcp.example.com/mcp/'],
  ['https://mcp.example.com/MCP', 'https://mcp.example.com/mcp'],
  ['https://mcp.example.com:8443', 'https://mcp.example.com'],
  ['http://mcp.example.com', 'https://mcp.example.com'],
  ['https://mcp.example.com/?a=1', 'https://mcp.example.com/?A=1'],
  ['https://user@mcp.example.com/', 'https://USER@mcp.example.com/'],
  ['urn:tally:admin', 'URN:tally:admin'],
  ['urn:tally:admin', 'urn:TALLY:admin'],
  ['urn:svc:a', 'urn:svc:A'],
  ['https://api.example/a%2Fb', 'https://api.example/a/b']
]

t.test('equivalent spellings share one key', async (t) => {
  const wrong = same.filter(([a, b]) => resourceKey(a) !== resourceKey(b))
  t.same(wrong, [])
})

t.test('significant differences keep distinct keys', async (t) => {
  const wrong = distinct.filter(([a, b]) => resourceKey(a) === resourceKey(b))
  t.same(wrong, [])
})

t.test('a key is its own key (idempotent)', async (t) => {
  const all = [...same, ...distinct].flat()
  t.same(all.filter((x) => resourceKey(resourceKey(x)) !== resourceKey(x)), [])
})

t.test('the registered form is returned, exact spelling first', async (t) => {
  const registered = ['https://mcp.example.com', 'urn:svc:a', 'https://other.example/mcp']
  t.same([
    equivalentResource(registered, 'https://MCP.example.com:443/'),
    equivalentResource(registered, 'urn:svc:a'),
    equivalentResource(registered, 'https://other.example/mcp/'),
    equivalentResource(['https://a.example', 'https://a.example/'], 'https://a.example/')
  ], ['https://mcp.example.com', 'urn:svc:a', undefined, 'https://a.example/'])
})
