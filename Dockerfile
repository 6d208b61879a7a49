# syntax=docker/dockerfile:1.7
# matyan-frontier: release build in a Rust image, run on debian:bookworm-slim.
#   docker build -t matyan-frontier .
#   docker run --rm -p 53801:53801 --env-file config/compose.env matyan-frontier

# ---- build -----------------------------------------------------------------
FROM rust:1.95-bookworm AS build

# rdkafka builds its bundled librdkafka with its own configure script and make:
# a C toolchain, make, pkg-config, perl, python3 and OpenSSL's headers (SASL/SCRAM
# and TLS) are all it asks for. The rust image has most of them already; naming
# them keeps the build from relying on that. Installed before the sources are
# copied, so the layer stays cached.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config perl python3 libssl-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Only what the release build reads: the workspace manifests, the lock file and
# the gateway's two crates' sources (tests, scripts, docs and the load
# generator's sources stay out, see .dockerignore). The workspace lists the load
# generator, so cargo loads its manifest, but builds nothing of it.
COPY Cargo.toml Cargo.lock ./
COPY tools/loadgen/Cargo.toml ./tools/loadgen/
COPY actors ./actors
COPY src ./src

# BuildKit cache mounts keep the crates.io download and the compiled
# dependencies between builds, so a source change recompiles only our crates.
# The target directory is a cache mount and vanishes with this step: the binary
# is copied out of it before the step ends.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p matyan-frontier \
 && install -m 0755 target/release/matyan-frontier /usr/local/bin/matyan-frontier

# ---- run -------------------------------------------------------------------
FROM debian:bookworm-slim

# Same Debian release as the build stage, so the glibc (and the libz and libssl
# that librdkafka links) match. CA certificates for TLS to brokers and stores;
# no curl: compose.yaml checks health with bash's /dev/tcp instead.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 frontier \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin frontier

COPY --from=build /usr/local/bin/matyan-frontier /usr/local/bin/matyan-frontier

# The binary also reads ./.env; the working directory holds none.
WORKDIR /app
USER 10001:10001
ENV LOG_LEVEL=INFO
EXPOSE 53801
# SIGTERM starts the graceful shutdown: received frames are answered, sockets
# close with 1001 and the producer flushes (SHUTDOWN_FLUSH_TIMEOUT).
STOPSIGNAL SIGTERM
CMD ["matyan-frontier", "start"]
