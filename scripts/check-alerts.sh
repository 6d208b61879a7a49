#!/usr/bin/env bash
# The alert rules, checked by Prometheus' own tool: `promtool check rules`
# (syntax, PromQL) and `promtool test rules` (each alert fires on the failure
# it is for and stays silent on a healthy instance). Installs promtool from
# Debian's prometheus package when it is missing.
set -euo pipefail
cd "$(dirname "$0")/../deploy/prometheus"

if ! command -v promtool >/dev/null; then
  echo "check-alerts: installing prometheus (Debian) for promtool" >&2
  sudo=()
  [[ $EUID -ne 0 ]] && sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
promtool check rules alerts.yaml
promtool test rules alerts.test.yaml
