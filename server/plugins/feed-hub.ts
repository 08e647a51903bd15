// The epoch-feed hub as its own plugin (docs/reference/epoch-feed.md): one EpochFeed per instance, started with the app and
// closed before it, decorated as `app.epochFeed` for the feed routes and for /metrics. Routes and metrics
// depend on this plugin; neither imports the other.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { EpochFeed } from '../feed/epoch-feed.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** This instance's feed hub: the feed routes' subscriptions, and subscriber count and lag for /metrics. */
    epochFeed: EpochFeed
  }
}

async function feedHubPlugin (app: FastifyInstance): Promise<void> {
  const { config, store } = app.tally
  const feed = new EpochFeed({ store, maxStalenessS: config.feedMaxStalenessS, log: app.log })
  await feed.start()
  app.decorate('epochFeed', feed)
  // preClose: open long-polls and streams must end before the server waits for its connections.
  app.addHook('preClose', async () => { await feed.close() })
}

export default fp(feedHubPlugin, { name: 'feed-hub', dependencies: ['tally'] })
