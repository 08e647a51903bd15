// Every migration, in order. A static list (not a directory scan) so that the same code runs from
// TypeScript sources under tsx and from the compiled dist/ without a file-system provider.
import type { Migration, MigrationProvider } from 'kysely'
import * as initial from './2026_11_28_03_00_00_initial.js'
import * as bootstrapMarker from './2026_12_01_10_00_00_bootstrap_marker.js'
import * as keyEvents from './2026_12_01_11_00_00_key_events.js'
import * as usage from './2026_12_01_12_00_00_usage.js'
import * as federation from './2026_12_01_13_00_00_federation.js'
import * as resourceIdentifierKey from './2026_12_01_15_00_00_resource_identifier_key.js'
import * as delegation from './2026_12_01_16_00_00_delegation.js'

const migrations: Record<string, Migration> = {
  '2026_11_28_03_00_00_initial': initial,
  '2026_12_01_10_00_00_bootstrap_marker': bootstrapMarker,
  '2026_12_01_11_00_00_key_events': keyEvents,
  '2026_12_01_12_00_00_usage': usage,
  '2026_12_01_13_00_00_federation': federation,
  '2026_12_01_15_00_00_resource_identifier_key': resourceIdentifierKey,
  '2026_12_01_16_00_00_delegation': delegation
}

export const migrationProvider: MigrationProvider = {
  async getMigrations () { return migrations }
}
