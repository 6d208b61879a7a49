#!/usr/bin/env bash
# The fleet benchmark (benches/fleet.rs): stock-client processes through HAProxy to
# replicas of this gateway and of the Python reference, rolling restarts and
# throughput, in one run. Starts the local stack (with its two-broker cluster) and
# installs the reference first. About 15 minutes at the default sizes; smaller:
#   FLEET_ROLLING_CLIENTS=4 FLEET_ROLLING_POINTS=5000 FLEET_CLIENTS=8 FLEET_POINTS=2000 scripts/fleet-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build-deps.sh
bash scripts/local-stack.sh up >/dev/null
trap 'bash scripts/local-stack.sh down >/dev/null 2>&1 || true' EXIT
eval "$(bash scripts/local-stack.sh env)"
bash scripts/reference-frontier.sh install >/dev/null
cargo bench --locked --bench fleet
