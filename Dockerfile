# syntax=docker/dockerfile:1
# Tally: a multi-stage build. The build stage compiles TypeScript to dist/; the runtime stage holds only
# the production dependencies and dist/, runs as the unprivileged `node` user and keeps embedded data
# (PGlite files, generated keys, the bootstrap admin secret) in /data.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/verifier/package.json packages/verifier/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:24-slim AS runtime
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/verifier/package.json packages/verifier/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# A named volume mounted on /data starts with this directory's owner, so `node` can write to it.
RUN mkdir -p /data && chown node:node /data
ENV HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
USER node
VOLUME ["/data"]
EXPOSE 8080
# node:24-slim has no curl: ask /readyz with Node's own fetch.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/readyz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# main.ts handles SIGTERM itself (stop accepting, finish in-flight requests, close the database, exit 0).
CMD ["node", "dist/server/main.js"]
