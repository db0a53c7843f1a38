#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end `kt audit` over a bench log through the real `ktlog serve` on
# 127.0.0.1 (rate limit off), beside the bounds measured by client_bench in
# the same run (SHA-256 leaf+node hashing on one core; Ed25519 verifies on
# both cores). Prints entries/s, peak RSS of kt (/usr/bin/time -v) and uptime.
#
# The Ed25519 bound: BM_Ed25519PerEntryBound verifies/s (key parsed per
# call, as the audit does); compare the signature audit's entries/s (one
# verify per entry in this log) with threads:2, and with 2 x threads:1.
#
# Usage: bench/audit_10m.sh [BUILD_DIR] [WORK_DIR]
#   ENTRIES=10000000   log size to build if WORK_DIR/data/log does not exist
#   SIG_FROM=N         the --verify-signatures run audits [N, size) (default:
#                      the last 100,000 entries; a full 10 M-entry signature
#                      audit takes hours on two cores)
#   RUNS=3             repetitions of each audit
# The log is built once with bench/log_integrate_bench --signed (real proofs
# of possession) and reused; delete WORK_DIR to rebuild it.
set -euo pipefail
BUILD=${1:-build}
WORK=${2:-/tmp/kt-audit-10m}
ENTRIES=${ENTRIES:-10000000}
RUNS=${RUNS:-3}
PORT=${PORT:-18977}
DATA=$WORK/data

if [ ! -d "$DATA/log" ]; then
  echo "== building a $ENTRIES-entry log in $DATA (takes long: ~40 min for 10 M on a loaded machine)"
  "$BUILD/bench/log_integrate_bench" --entries="$ENTRIES" --dir="$DATA" --keep --signed \
    --key-out="$DATA/log.key" --skip-bound --proofs=0
fi
printf 'log %s\nquorum none\n' "$(cat "$DATA/log.key.vkey")" > "$WORK/policy.txt"

"$BUILD/log/ktlog" serve --listen "127.0.0.1:$PORT" --data "$DATA/log" --key "$DATA/log.key" \
  --origin bench.example/log --rate-limit 0 > "$WORK/ktlog.out" 2>&1 &
LOG_PID=$!
trap 'kill $LOG_PID 2>/dev/null; wait $LOG_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q serving "$WORK/ktlog.out" 2>/dev/null && break
  sleep 0.1
done
URL=http://127.0.0.1:$PORT

kt() { "$BUILD/client/kt" --policy "$WORK/policy.txt" --log "$URL" --state "$WORK/state" "$@"; }

echo "== bounds (client_bench, same run)"
"$BUILD/bench/client_bench" --benchmark_filter='BM_Sha256LeafNodeBound|BM_Ed25519PerEntryBound' \
  --benchmark_min_time=3 2>/dev/null | grep -E '^BM_'
SIZE=$(kt checkpoint | awk '/size:/ {print $2}')
SIG_FROM=${SIG_FROM:-$((SIZE > 100000 ? SIZE - 100000 : 0))}
echo "== log size $SIZE"

run() {  # run LABEL ARGS...: one audit, timed, with kt's peak RSS
  local label=$1
  shift
  uptime
  /usr/bin/time -v -o "$WORK/time.txt" "$BUILD/client/kt" --policy "$WORK/policy.txt" --log "$URL" \
    --state "$WORK/state" audit --json "$@" > "$WORK/audit.json"
  local entries secs rss cpu
  entries=$(sed 's/.*"entries":\([0-9]*\).*/\1/' "$WORK/audit.json")
  secs=$(sed 's/.*"seconds":\([0-9.e+-]*\).*/\1/' "$WORK/audit.json")
  rss=$(awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print $2}' "$WORK/time.txt")
  cpu=$(awk -F: '/User time|System time/ {c += $2} END {print c}' "$WORK/time.txt")
  echo "$label: $entries entries in $secs s = $(awk -v n="$entries" -v s="$secs" 'BEGIN {printf "%.0f", n / s}') entries/s, kt CPU $cpu s, kt peak RSS $rss KiB"
  cat "$WORK/audit.json"
}

for i in $(seq 1 "$RUNS"); do run "audit (tree + prev chains), run $i" --from 0; done
for i in $(seq 1 "$RUNS"); do
  run "audit --verify-signatures --from $SIG_FROM, run $i" --from "$SIG_FROM" --verify-signatures
done
echo "== bounds again"
"$BUILD/bench/client_bench" --benchmark_filter='BM_Sha256LeafNodeBound|BM_Ed25519PerEntryBound' \
  --benchmark_min_time=3 2>/dev/null | grep -E '^BM_'
uptime
