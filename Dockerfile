# syntax=docker/dockerfile:1.7
# Build: the bundled librdkafka needs only a C toolchain, make, perl and python3.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY actors ./actors
COPY src ./src
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p matyan-frontier \
 && cp target/release/matyan-frontier /usr/local/bin/matyan-frontier

# Run: a slim image, CA certificates for TLS to brokers and stores, no root.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home frontier
COPY --from=build /usr/local/bin/matyan-frontier /usr/local/bin/matyan-frontier
USER 10001
ENV LOG_LEVEL=INFO
EXPOSE 53801
# SIGTERM starts the graceful shutdown (answer received frames, close 1001, flush).
STOPSIGNAL SIGTERM
CMD ["matyan-frontier", "start"]
