#!/usr/bin/env bash
# The benchmark: starts the local stack, builds the gateway and the load
# generator (tools/loadgen), and lets the load generator drive, in one run and
# against the same broker, (1) this gateway, (2) optionally a second gateway
# binary (BENCH_BASELINE_BIN, the "before" rows), (3) the reference Python
# matyan-frontier 0.3.0, (4) a plain rdkafka producer with the same settings
# (the ceiling). It prints one table: msgs/s, latency, CPU µs per message and
# ratios, and the machine it ran on. docs/benchmarks.md explains the phases.
#
#   scripts/bench.sh            full run, release build (about 7 minutes; 9 with a baseline)
#   scripts/bench.sh --smoke    a few seconds against the gateway only, debug build, asserting
#                               correctness (records in Kafka == acked, no errors); CI runs it
#
# Environment: BENCH_BASELINE_BIN=/path/to/matyan-frontier, BENCH_SECONDS (15 per phase),
# BENCH_IDLE (10000 idle connections).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=(--reference)
profile=(--release)
target=target/release
if [[ "${1:-}" == "--smoke" ]]; then
  mode=(--smoke)
  profile=()
  target=target/debug
fi

# The idle phase holds thousands of sockets in the gateway and the load generator.
ulimit -n "$(ulimit -Hn)"

bash scripts/local-stack.sh up >/dev/null
trap 'bash scripts/reference-frontier.sh stop >/dev/null 2>&1 || true; bash scripts/local-stack.sh down >/dev/null 2>&1 || true' EXIT
eval "$(bash scripts/local-stack.sh env)"
[[ "${mode[0]}" == --reference ]] && bash scripts/reference-frontier.sh install >/dev/null

cargo build "${profile[@]}" --locked -p matyan-frontier -p matyan-loadgen 2>&1 | tail -n 1
"$target/loadgen" --gateway "$target/matyan-frontier" "${mode[@]}"
