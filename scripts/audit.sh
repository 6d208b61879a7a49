#!/usr/bin/env bash
# Supply-chain check against the offline RustSec snapshot in ../shared/advisory-db.
# Advisories we accept are listed, each with its reason, in .cargo/audit.toml
# and in docs/architecture.md; anything else fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/local-stack.sh install
eval "$(bash scripts/local-stack.sh env)"
"$MATYAN_STACK_BIN/cargo-audit" audit --db ../shared/advisory-db --no-fetch --stale --deny warnings
