#!/usr/bin/env bash
# What building the frontier needs besides Rust: rdkafka compiles its bundled
# librdkafka with a C toolchain, make, perl and pkg-config, against OpenSSL's
# headers (SASL/SCRAM and TLS to the broker). The tests check the alert rules
# with promtool (Debian's prometheus); the fleet tests put replicas behind
# HAProxy and a Tansu cluster over PostgreSQL. Installs from Debian what is missing.
set -euo pipefail

missing=()
command -v cc >/dev/null || missing+=(build-essential)
command -v make >/dev/null || missing+=(make)
command -v perl >/dev/null || missing+=(perl)
command -v pkg-config >/dev/null || missing+=(pkg-config)
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)
command -v promtool >/dev/null || missing+=(prometheus)
command -v haproxy >/dev/null || missing+=(haproxy)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "build-deps: installing ${missing[*]} (Debian)" >&2
  sudo=()
  [[ $EUID -ne 0 ]] && sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
