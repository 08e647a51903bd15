// Runs once before the test files (package.json tap.before): the migrated PGlite template
// (pglite-template.ts), built here when it is missing, so that the first test processes do not each build
// it at the same moment. Nothing to do on Postgres, where each file migrates a schema of its own.
import { migratedTemplate } from './pglite-template.js'

if (process.env.DATABASE_URL === undefined) await migratedTemplate()
