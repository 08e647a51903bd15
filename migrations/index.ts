// Every migration, in order. A static list (not a directory scan) so that the same code runs from
// TypeScript sources under tsx and from the compiled dist/ without a file-system provider.
import type { Migration, MigrationProvider } from 'kysely'
import * as initial from './2026_11_28_03_00_00_initial.js'
import * as usage from './2026_12_01_12_00_00_usage.js'

const migrations: Record<string, Migration> = {
  '2026_11_28_03_00_00_initial': initial,
  '2026_12_01_12_00_00_usage': usage
}

export const migrationProvider: MigrationProvider = {
  async getMigrations () { return migrations }
}
