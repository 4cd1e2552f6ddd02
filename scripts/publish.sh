#!/usr/bin/env bash
# Regenerates everything published from the raw records alone (never re-measuring):
# every results/<machine>/summary.md and plots/, results/README.md, and the headline section of
# the top-level README between its markers. Byte-identical for the same records.
#
#   scripts/publish.sh                       # headline from the 2-core reference machine
#   HEADLINE=<machine> scripts/publish.sh    # headline from another results/ folder
set -euo pipefail
cd "$(dirname "$0")/.."

shootout=${SHOOTOUT:-${CARGO_TARGET_DIR:-target}/release/shootout}
if [ -z "${SHOOTOUT:-}" ]; then
  cargo build --release -p shootout-harness
fi
for runs in results/*/runs.jsonl; do
  [ -f "$runs" ] || continue
  "$shootout" report "$runs" --out "$(dirname "$runs")" > /dev/null
done
"$shootout" index results --readme README.md --headline "${HEADLINE:-$(cat results/HEADLINE)}"
echo "published: $(ls -d results/*/ | tr '\n' ' ')"
