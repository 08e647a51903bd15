// GET /console (docs/reference/review.md): the admin console, three static files served by Tally itself. The page signs in
// with admin client credentials at /token and keeps the token in a JavaScript variable only. A strict
// Content-Security-Policy allows nothing but this origin's script, style and API: no inline script, no
// other origin, no framing.
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply } from 'fastify'

export const CONSOLE_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "connect-src 'self'",
  "font-src 'none'", "object-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"
].join('; ')

// From the sources (tsx) or next to the build, which does not copy them: dist/server/console → server/console.
function staticDir (): string {
  for (const rel of ['./static/', '../../../server/console/static/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url))
    if (existsSync(dir)) return dir
  }
  throw new Error('console files not found')
}

const FILES: Record<string, { file: string, type: string }> = {
  '/console': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/console/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' }
}

function secure (reply: FastifyReply): FastifyReply {
  return reply.header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cross-origin-resource-policy', 'same-origin')
    .header('x-frame-options', 'DENY')
}

export default async function consoleRoutes (app: FastifyInstance): Promise<void> {
  const dir = staticDir()
  const bodies = new Map(Object.entries(FILES).map(([path, f]) => [path, { body: readFileSync(dir + f.file), type: f.type }]))
  for (const [path, { body, type }] of bodies) {
    app.get(path, { schema: { hide: true } }, async function consoleFile (_request, reply) {
      return await secure(reply).type(type).send(body)
    })
  }
  app.get('/console/', { schema: { hide: true } }, async function consoleSlash (_request, reply) {
    return await secure(reply).redirect('/console')
  })
}
