#!/usr/bin/env bash
# Regenerates everything published from the raw records alone (never re-measuring):
# every results/<machine>/summary.md and plots/, results/README.md, and the headline section of
# the top-level README between its markers. Byte-identical for the same records. Refuses a
# folder whose records come from several revisions or a dirty tree, unless it holds a file
# named allow-mixed.
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
  dir=$(dirname "$runs")
  # A folder measured before tables had to come from one clean revision says so in a file
  # named allow-mixed (why, in words); its summary then carries the warning at its top.
  mixed=()
  [ -f "$dir/allow-mixed" ] && mixed=(--allow-mixed)
  "$shootout" report "$runs" --out "$dir" "${mixed[@]}" > /dev/null
done
"$shootout" index results --readme README.md --headline "${HEADLINE:-$(cat results/HEADLINE)}"
echo "published: $(ls -d results/*/ | tr '\n' ' ')"
