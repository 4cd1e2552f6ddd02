#!/usr/bin/env bash
# A time-boxed suite for a machine you only have for a few minutes (a lent many-core box):
# the quick profile, dnc scaling over 1, 4, … cores, fan-out, pipeline and the sync family at
# all cores, each step cut off when the budget runs out. Records are appended cell by cell, so whatever
# finished is kept and publishable; cells that never ran are simply absent.
#
#   BUDGET=420 scripts/run-budget.sh            # seconds in all (default 420)
#   SHOOTOUT=path/to/shootout OUT=dir/runs.jsonl scripts/run-budget.sh
set -euo pipefail
cd "$(dirname "$0")/.."

shootout=${SHOOTOUT:-${CARGO_TARGET_DIR:-target}/release/shootout}
machine=$("$shootout" machine)
out=${OUT:-results/$machine/runs.jsonl}
mkdir -p "$(dirname "$out")"
budget=${BUDGET:-420}
deadline=$(( $(date +%s) + budget ))

cores=$(nproc)
workers=1
for ((w = 4; w < cores; w *= 4)); do workers+=",$w"; done
[ "$cores" -gt 1 ] && workers+=",$cores"

run() {
  local left=$(( deadline - $(date +%s) ))
  if [ "$left" -le 5 ]; then echo "budget spent; skipping: $*"; return 0; fi
  local append=()
  [ -f "$out" ] && append=(--append)
  # SIGINT lets the harness kill its cell, keep its records and exit cleanly.
  timeout -s INT "$left" "$shootout" run --profile quick --rounds 1 --out "$out" "${append[@]}" "$@" || true
}

run --workers "$cores" --task fanout -p conns=1000,10000
run --workers "$cores" --task pipeline
run --workers "$cores" --task sync
run --workers "$workers" --task dnc
echo "records: $out ($(wc -l < "$out") cells)"
