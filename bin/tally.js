#!/usr/bin/env node
// Launcher of the `tally` command: in a clone (after `npm ci`) it runs the TypeScript source through tsx;
// in an installation without the sources or tsx, the build in dist/ (`npm run build`).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const source = new URL('../cli/main.ts', import.meta.url)
const built = new URL('../dist/cli/main.js', import.meta.url)
let tsx
if (existsSync(fileURLToPath(source))) {
  try { tsx = await import('tsx/esm/api') } catch {}
}
if (tsx !== undefined) {
  tsx.register()
  await import(source.href)
} else if (existsSync(fileURLToPath(built))) {
  await import(built.href)
} else {
  process.stderr.write('tally: neither tsx nor a build is available; run `npm ci` or `npm run build`\n')
  process.exitCode = 1
}
