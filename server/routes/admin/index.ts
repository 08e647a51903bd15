// The admin API (SPEC §5), one file per group of endpoints.
import type { FastifyInstance } from 'fastify'

export default async function adminRoutes (_app: FastifyInstance): Promise<void> {
}
