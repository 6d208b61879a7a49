#!/usr/bin/env bash
# The whole test suite, from a fresh machine: starts the local stack (real
# Kafka-protocol broker and S3 server on 127.0.0.1), runs the unit and
# integration tests (including the real Python client), stops the stack.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build-deps.sh
# The alert rules need no stack: promtool checks and unit-tests them.
bash scripts/check-alerts.sh
bash scripts/local-stack.sh up
trap 'bash scripts/local-stack.sh down' EXIT
eval "$(bash scripts/local-stack.sh env)"

# The in-process tests (the library's) need nothing; the real-stack tests
# (tests/real_stack/, one binary) share the in-memory broker, and the outage
# and stall tests take turns on the brokers they stop or freeze
# (tests/real_stack/support/broker.rs). Cargo runs test binaries one at a time.
log=$(mktemp)
set +e
cargo test --workspace --locked --no-fail-fast "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole suite, summed over every test binary.
awk '/^test result:/ { passed += $4; failed += $6; ignored += $8 } END { printf "cargo test: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' "$log"
rm -f "$log"
exit "$status"
