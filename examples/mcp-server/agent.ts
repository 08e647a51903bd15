// An agent on the official MCP SDK calling the example MCP server with Tally tokens, unmodified: the SDK
// finds Tally through the server's 401 → RFC 9728 metadata → RFC 8414 metadata, then gets a token at
// /token with client credentials and `resource` — authenticated by a secret (ClientCredentialsProvider)
// or by a signed assertion (PrivateKeyJwtProvider, RFC 7523). See README.md.
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { ClientCredentialsProvider, PrivateKeyJwtProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js'
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js'

export type AgentCredentials =
  | { clientId: string, clientSecret: string }
  | { clientId: string, privateKeyPem: string, algorithm?: string }

/** The SDK's machine-to-machine providers; `expectedIssuer` pins where the credentials may be sent. */
export function providerFor (credentials: AgentCredentials, tallyIssuer: string, scope?: string): OAuthClientProvider {
  if ('clientSecret' in credentials) {
    return new ClientCredentialsProvider({ clientId: credentials.clientId, clientSecret: credentials.clientSecret, expectedIssuer: tallyIssuer, scope })
  }
  return new PrivateKeyJwtProvider({ clientId: credentials.clientId, privateKey: credentials.privateKeyPem, algorithm: credentials.algorithm ?? 'ES256', expectedIssuer: tallyIssuer, scope })
}

/** Connects to the MCP server; the first request's 401 starts discovery and the token request. */
export async function connectAgent (mcpUrl: string, authProvider: OAuthClientProvider): Promise<Client> {
  const client = new Client({ name: 'tally-example-agent', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider }))
  return client
}

function required (name: string): string {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`${name} is required`)
  return value
}

// Run directly: `npx tsx examples/mcp-server/agent.ts` (environment in README.md).
if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const { readFileSync } = await import('node:fs')
  const tallyIssuer = process.env.TALLY_ISSUER ?? 'http://localhost:8080'
  const clientId = required('AGENT_CLIENT_ID')
  const credentials: AgentCredentials = process.env.AGENT_PRIVATE_KEY_FILE !== undefined
    ? { clientId, privateKeyPem: readFileSync(process.env.AGENT_PRIVATE_KEY_FILE, 'utf8') }
    : { clientId, clientSecret: required('AGENT_CLIENT_SECRET') }
  const client = await connectAgent(process.env.MCP_URL ?? 'http://127.0.0.1:3000/mcp', providerFor(credentials, tallyIssuer))
  console.log('tools:', (await client.listTools()).tools.map((t) => t.name).join(', '))
  console.log('whoami →', JSON.stringify((await client.callTool({ name: 'whoami', arguments: {} })).content))
  console.log('add(2, 3) →', JSON.stringify((await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } })).content))
  await client.close()
}
