// Entry point: load config, build the app, listen; on SIGTERM/SIGINT stop accepting, finish in-flight
// requests, close the database and exit 0.
import { buildApp } from './app.js'
import { loadConfigOrExit } from './config.js'
import { gracefulClose } from './shutdown.js'

async function main (): Promise<void> {
  const config = loadConfigOrExit()
  const app = await buildApp(config)
  let closing = false
  const shutdown = (signal: string): void => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    gracefulClose(app).then(() => process.exit(0), (err) => { app.log.error({ err }, 'shutdown failed'); process.exit(1) })
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
  await app.listen({ port: config.port, host: config.host })
}

main().catch((err) => {
  process.stderr.write(`tally: failed to start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
