#!/usr/bin/env bash
# The whole test suite, from a fresh machine: starts the local stack (real
# Kafka-protocol broker and S3 server on 127.0.0.1), runs the unit and
# integration tests (including the real Python client), stops the stack.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/local-stack.sh up
trap 'bash scripts/local-stack.sh down' EXIT
eval "$(bash scripts/local-stack.sh env)"

# Integration tests share one broker; the outage test stops it, and lives in
# its own test binary, which cargo runs after the others have finished.
cargo test --workspace --locked "$@"
