#!/usr/bin/env bash
# Compares two records files cell by cell (ratio of medians, noise-aware verdict):
#
#   scripts/compare.sh results/<machine>/runs.jsonl my-run.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 A.jsonl B.jsonl" >&2; exit 2; }
shootout=${SHOOTOUT:-${CARGO_TARGET_DIR:-target}/release/shootout}
if [ -z "${SHOOTOUT:-}" ]; then
  cargo build --release -p shootout-harness >&2
fi
exec "$shootout" compare "$1" "$2"
