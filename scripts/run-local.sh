#!/usr/bin/env bash
# Starts the local stack and runs the frontier against it (Ctrl-C stops the frontier;
# `scripts/local-stack.sh down` stops the stack).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-deps.sh
bash scripts/local-stack.sh up >/dev/null
set -a
# shellcheck source=../config/local.env
source config/local.env
set +a
exec cargo run --release --locked -- start "$@"
