#!/usr/bin/env bash
# Measures the full profile, with the sweeps the published plots need, into
# results/<machine>/runs.jsonl – appending a new run; raw records are never overwritten.
#
#   scripts/run-suite.sh              # everything (tens of minutes on 2 cores)
#   scripts/run-suite.sh --task fib   # extra arguments go to every `shootout run` below
#
# Then `scripts/publish.sh` regenerates the tables and plots from the records. A table comes
# from one revision: to re-measure a machine from a new one, first move its runs.jsonl to
# results/<machine>/earlier/runs-<old revision>.jsonl, where the records stay published.
set -euo pipefail
cd "$(dirname "$0")/.."

shootout=${SHOOTOUT:-${CARGO_TARGET_DIR:-target}/release/shootout}
if [ -z "${SHOOTOUT:-}" ]; then
  cargo build --release -p shootout-harness
fi
machine=$("$shootout" machine)
out=${OUT:-results/$machine/runs.jsonl}
mkdir -p "$(dirname "$out")"

# Worker counts: 1, 2, then powers of two up to the machine's cores, and the cores themselves.
cores=$(nproc)
workers=1
for ((w = 2; w < cores; w *= 2)); do workers+=",$w"; done
[ "$cores" -gt 1 ] && workers+=",$cores"

run() {
  local append=()
  [ -f "$out" ] && append=(--append)
  # A cell that fails is recorded and shown in the tables; it must not stop the suite.
  "$shootout" run --profile full --out "$out" "${append[@]}" "$@" || echo "(some cells above did not verify; they are recorded as such)"
}

# Every task at its published parameters, over the worker counts; the sync family also with
# more contenders than cores (W = 4 x cores: 8 on two cores), where a lock holder can be
# preempted and waiters outnumber the CPUs.
run --workers "$workers" --task dnc,fanout,pipeline "$@"
run --workers "$workers,$((cores * 4))" --task sync "$@"
# Fan-out latency and memory against concurrency (the pool is expected to hit the timeout at
# the largest K: a bounded blocking pool serves K/N requests one after another).
run --workers "$cores" --task scatter -p conns=10,100,10000 -p rounds=5 --timeout 120 "$@"
# Pipeline throughput against work per item, and against producers × consumers.
run --workers "$cores" --task bounded -p work=0,1000 "$@"
run --workers "$cores" --task bounded -p producers=1,4 -p consumers=1,4 -p work=0 -p items=1000000 "$@"
# The lock against the length of its critical section.
run --workers "$cores" --task lock -p section=0,256 "$@"
echo "records: $out"
