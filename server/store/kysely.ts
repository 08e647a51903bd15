// Kysely, loaded from its CommonJS build: the one way the codebase imports it (`from './kysely.js'`,
// never `from 'kysely'`, or two copies of its classes would meet).
//
// Why not the ESM build: it is 263 modules, and under module hooks (tsx in `npm run dev`, the tests, the
// benches; tap's loaders) every ESM module is resolved and loaded by a round trip to the hooks thread.
// Measured on Node 20 under tap and tsx: +0.75–1.1 s of CPU per process for the ESM build, +0.15–0.2 s for
// the CommonJS one, which loads in-thread; every test file and every server the tests start pays it. Under
// plain `node` (npm start) the two cost about the same (340 vs 300 ms). The API and types are the same.
import { createRequire } from 'node:module'
import type * as K from 'kysely'

const kysely = createRequire(import.meta.url)('kysely') as typeof K

export const { sql, CompiledQuery, Kysely, Migrator, PostgresDialect, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } = kysely

// The classes above are types too; these give their names the type meaning the ESM import would.
export type CompiledQuery<O = unknown> = K.CompiledQuery<O>
export type Kysely<DB> = K.Kysely<DB>
export type Migrator = K.Migrator
export type PostgresDialect = K.PostgresDialect
export type PostgresAdapter = K.PostgresAdapter
export type PostgresIntrospector = K.PostgresIntrospector
export type PostgresQueryCompiler = K.PostgresQueryCompiler
export type {
  ColumnType, DatabaseConnection, Dialect, Driver, Generated, Insertable, KyselyPlugin, QueryResult, RawBuilder,
  Selectable, TransactionSettings
} from 'kysely'
