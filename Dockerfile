# syntax=docker/dockerfile:1
# The irsa image: `irsa` as the entrypoint (webhook, issuer, sts, ...), Node.js 24 LTS, production
# dependencies only, running as an unprivileged user with a numeric UID (runAsNonRoot can check it): 65532, as the
# Helm chart's pod security context sets.
#   docker build -t irsa-anywhere .
#   docker run --rm irsa-anywhere --help

# Build: the full dependency tree, then the TypeScript of src/ only.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json

# Runtime: production dependencies and the compiled product, nothing else.
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
  && npm cache clean --force
COPY --from=build /src/dist/src ./dist/src
RUN chmod 0755 dist/src/cli/main.js && ln -s /app/dist/src/cli/main.js /usr/local/bin/irsa
USER 65532:65532
ENTRYPOINT ["irsa"]
CMD ["--help"]
