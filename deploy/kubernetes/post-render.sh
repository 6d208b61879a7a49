#!/usr/bin/env bash
# Helm post-renderer: reads the rendered chart on stdin, writes it back with
# frontier-lifecycle.patch.yaml applied (kustomize on PATH, or kubectl's).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/kustomization.yaml" "$here/frontier-lifecycle.patch.yaml" "$work/"
cat >"$work/rendered.yaml"
if command -v kustomize >/dev/null; then
  kustomize build "$work"
else
  kubectl kustomize "$work"
fi
