#!/usr/bin/env bash
# The alert rules, checked by Prometheus' own tool: `promtool check rules`
# (syntax, PromQL) and `promtool test rules` (each alert fires on the failure
# it is for and stays silent on a healthy instance). scripts/build-deps.sh
# installs promtool.
set -euo pipefail
cd "$(dirname "$0")/../deploy/prometheus"

promtool check rules alerts.yaml
promtool test rules alerts.test.yaml
