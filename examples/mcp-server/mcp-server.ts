// An MCP server on the official SDK (Streamable HTTP), protected by Tally through the verifier's MCP kit:
// RFC 9728 metadata so agents discover Tally, `requireBearerAuth` with an adapter that answers from the
// epoch feed (a revoked agent is refused within the feed's bound), and a tool to call. See README.md.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js'
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js'
import * as z from 'zod'
// In your own project: from 'tally/verifier'
import {
  createMcpTokenVerifier, createVerifier, protectedResourceMetadata, protectedResourceMetadataPath,
  protectedResourceMetadataUrl, type McpAuthInfo
} from '../../packages/verifier/src/index.js'

export interface McpServerOptions {
  /** Tally's issuer (what agents are sent to discover). */
  tallyIssuer: string
  /** Where this server reaches Tally, if not at its issuer. */
  tallyUrl?: string
  /** This MCP server's resource identifier, as registered in Tally: its public URL, path included. */
  resource: string
  /** This server's own identity in Tally: an introspector of `resource` (it reads the epoch feed). */
  clientId: string
  clientSecret: string
  /** The scope calling tools needs. */
  scope?: string
  port?: number
  host?: string
}

export interface RunningMcpServer { url: string, close: () => Promise<void> }

/** One MCP server instance per request: the stateless Streamable HTTP pattern of the SDK. */
function buildMcpServer (): McpServer {
  const server = new McpServer({ name: 'tally-example', version: '1.0.0' })
  server.registerTool('whoami', {
    description: 'Who is calling, as Tally says: client_id, scopes and entitlements',
    inputSchema: {}
  }, async (_args, extra) => {
    const auth = extra.authInfo as McpAuthInfo | undefined
    const caller = { client_id: auth?.clientId, scopes: auth?.scopes, sub: auth?.extra?.sub, entitlements: auth?.extra?.entitlements }
    return { content: [{ type: 'text', text: JSON.stringify(caller) }] }
  })
  server.registerTool('add', {
    description: 'Adds two numbers',
    inputSchema: { a: z.number(), b: z.number() }
  }, async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }))
  return server
}

export async function startMcpServer (options: McpServerOptions): Promise<RunningMcpServer> {
  const host = options.host ?? '127.0.0.1'
  const scope = options.scope ?? 'mcp:tools'
  const verifier = await createVerifier({
    issuer: options.tallyIssuer,
    serverUrl: options.tallyUrl,
    audience: options.resource,
    clientId: options.clientId,
    clientSecret: options.clientSecret
  })
  const app = createMcpExpressApp({ host })

  // RFC 9728: where agents learn that Tally issues this server's tokens, and which scopes to ask for.
  const metadata = protectedResourceMetadata({ resource: options.resource, authorizationServers: [options.tallyIssuer], scopesSupported: [scope], resourceName: 'Tally example MCP server' })
  app.get(protectedResourceMetadataPath(options.resource), (_req: IncomingMessage, res: ServerResponse & { json: (body: unknown) => void }) => { res.json(metadata) })

  const auth = requireBearerAuth({
    verifier: await createMcpTokenVerifier(verifier),
    requiredScopes: [scope],
    resourceMetadataUrl: protectedResourceMetadataUrl(options.resource)
  })
  const mcpPath = new URL(options.resource).pathname
  app.post(mcpPath, auth, async (req: IncomingMessage & { body?: unknown }, res: ServerResponse) => {
    const server = buildMcpServer()
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined })
    res.on('close', () => { void transport.close(); void server.close() })
    await server.connect(transport)
    await transport.handleRequest(req, res, req.body)
  })
  // Stateless: no server-initiated stream and no session to delete (MCP Streamable HTTP §2.2.3, §2.5.4).
  const notAllowed = (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(405, { allow: 'POST', 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed' }, id: null }))
  }
  app.get(mcpPath, auth, notAllowed)
  app.delete(mcpPath, auth, notAllowed)

  const server: Server = await new Promise((resolve, reject) => {
    const listening: Server = app.listen(options.port ?? 0, host, (err?: Error) => { if (err !== undefined) reject(err); else resolve(listening) })
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${host}:${port}${mcpPath}`,
    async close () {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
      await verifier.close()
    }
  }
}

function required (name: string): string {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`${name} is required`)
  return value
}

// Run directly: `npx tsx examples/mcp-server/mcp-server.ts` (environment in README.md).
if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const port = Number(process.env.PORT ?? 3000)
  const running = await startMcpServer({
    tallyIssuer: process.env.TALLY_ISSUER ?? 'http://localhost:8080',
    tallyUrl: process.env.TALLY_URL,
    resource: process.env.MCP_RESOURCE ?? `http://127.0.0.1:${port}/mcp`,
    clientId: required('MCP_CLIENT_ID'),
    clientSecret: required('MCP_CLIENT_SECRET'),
    port
  })
  console.log(`MCP server on ${running.url}`)
  const stop = (): void => { void running.close().then(() => process.exit(0)) }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
