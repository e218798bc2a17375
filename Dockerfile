# syntax=docker/dockerfile:1
#
# The homeserver as one executable in a small Debian image.
#
#   docker build -t homeserver .
#   docker run -d --name homeserver -p 8008:8008 -v homeserver-data:/data \
#     -e HOMESERVER_SERVER_NAME=example.org homeserver
#
# Multi-platform (linux/amd64 and linux/arm64): the build stage runs on the
# build machine's platform and cross-compiles with `bun build --target`, so no
# emulation is needed:
#   docker buildx build --platform linux/amd64,linux/arm64 -t homeserver .

# ---- build: compile the single executable ----------------------------------
FROM --platform=$BUILDPLATFORM oven/bun:1.4.5 AS build
WORKDIR /src

# Dependencies first, so that a source change does not reinstall them.
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile --production

COPY tsconfig.json ./
COPY schema ./schema
COPY src ./src

# src/media/thumbnail-worker.ts is the thumbnail worker thread's entry point.
# TARGETARCH is set by BuildKit (docker buildx, Docker 23+); without it the
# binary is built for the build machine.
ARG TARGETARCH
RUN case "${TARGETARCH}" in \
      amd64) target="--target=bun-linux-x64" ;; \
      arm64) target="--target=bun-linux-arm64" ;; \
      "") target="" ;; \
      *) echo "unsupported architecture: ${TARGETARCH}" >&2; exit 1 ;; \
    esac \
 && bun build src/main.ts src/media/thumbnail-worker.ts --compile --minify --sourcemap ${target} --outfile /out/homeserver

# ---- runtime: glibc, the binary, a non-root user, /data ----------------------
FROM debian:bookworm-slim

RUN groupadd --system --gid 10001 homeserver \
 && useradd --system --uid 10001 --gid homeserver --home-dir /data --no-create-home --shell /usr/sbin/nologin homeserver \
 && mkdir /data \
 && chown homeserver:homeserver /data \
 && chmod 700 /data

COPY --from=build /out/homeserver /usr/local/bin/homeserver

# The database (homeserver.db + WAL) and signing.key live here. The variable
# also points the offline commands at it:
#   docker exec homeserver homeserver register-user --username alice --password ... --admin
ENV HOMESERVER_DATA_DIR=/data
VOLUME /data
WORKDIR /data
USER homeserver:homeserver
EXPOSE 8008

# The server stops on SIGTERM (docker stop) after in-flight requests finish.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/homeserver"]
CMD ["serve", "--listen", "0.0.0.0:8008", "--data-dir", "/data"]
