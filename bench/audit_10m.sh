#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end `kt audit` over a bench log through the real `ktlog serve` on
# 127.0.0.1 (rate limit off), beside the bounds measured by client_bench in
# the same run, before and after the audits (SHA-256 leaf+node hashing on one
# core; Ed25519 verifies on one thread and on two). Prints, per run:
# entries/s, the ratio to the bound, kt's CPU per entry (all threads), the
# server's CPU per entry, kt's peak RSS (/usr/bin/time -v) and uptime; then a
# summary with the best run and the spread.
#
# Ratios use the higher of the two bound measurements (the conservative
# one). Tree recomputation: entries/s over BM_Sha256LeafNodeBound entries/s.
# Signatures: Ed25519 verifications/s made by kt (its JSON "signatures")
# over 2 x BM_Ed25519PerEntryBound/threads:1 verifies/s (the two-core
# ideal); the ratio to the measured threads:2 figure is printed too.
#
# Usage: bench/audit_10m.sh [BUILD_DIR] [WORK_DIR]
#   ENTRIES=10000000   log size to build if WORK_DIR/data/log does not exist
#   SIG_FROM=N         the --verify-signatures run audits [N, size) (default:
#                      the last 100,000 entries; a full 10 M-entry signature
#                      audit takes hours on two cores)
#   RUNS=3             repetitions of each audit (SIG_RUNS for signatures)
#   PARALLEL=8         kt audit --parallel (fetch threads)
# The log is built once with bench/log_integrate_bench --signed (real proofs
# of possession) and reused; delete WORK_DIR to rebuild it.
set -euo pipefail
BUILD=${1:-build}
WORK=${2:-/tmp/kt-audit-10m}
ENTRIES=${ENTRIES:-10000000}
RUNS=${RUNS:-3}
SIG_RUNS=${SIG_RUNS:-$RUNS}
PARALLEL=${PARALLEL:-8}
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
TICK=$(getconf CLK_TCK)

kt() { "$BUILD/client/kt" --policy "$WORK/policy.txt" --log "$URL" --state "$WORK/state" "$@"; }

bounds() {  # bounds FILE: client_bench's bounds as JSON
  "$BUILD/bench/client_bench" --benchmark_filter='BM_Sha256LeafNodeBound|BM_Ed25519PerEntryBound' \
    --benchmark_min_time=3 --benchmark_format=json 2>/dev/null > "$1"
  python3 - "$1" <<'PY'
import json, sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    extra = "".join(f" {k}={b[k]:,.0f}" for k in ("entries_per_s", "verifies_per_s") if k in b)
    print(f"{b['name']}: real {b['real_time']:.1f} {b['time_unit']}, CPU {b['cpu_time']:.1f} {b['time_unit']}{extra}")
PY
}

echo "== bounds (client_bench, same run), $(uptime)"
bounds "$WORK/bounds_before.json"
SIZE=$(kt checkpoint | awk '/size:/ {print $2}')
SIG_FROM=${SIG_FROM:-$((SIZE > 100000 ? SIZE - 100000 : 0))}
echo "== log size $SIZE"
: > "$WORK/runs.txt"

run() {  # run KIND LABEL ARGS...: one audit, timed, with kt's peak RSS and ktlog's CPU
  local kind=$1 label=$2
  shift 2
  local load
  load=$(uptime | sed 's/.*load average: //')
  local before after
  before=$(awk '{print $14 + $15}' "/proc/$LOG_PID/stat")
  /usr/bin/time -v -o "$WORK/time.txt" "$BUILD/client/kt" --policy "$WORK/policy.txt" --log "$URL" \
    --state "$WORK/state" audit --json --parallel "$PARALLEL" "$@" > "$WORK/audit.json"
  after=$(awk '{print $14 + $15}' "/proc/$LOG_PID/stat")
  local entries secs rss cpu sigs
  entries=$(sed 's/.*"entries":\([0-9]*\).*/\1/' "$WORK/audit.json")
  secs=$(sed 's/.*"seconds":\([0-9.e+-]*\).*/\1/' "$WORK/audit.json")
  sigs=$(sed 's/.*"signatures":\([0-9]*\).*/\1/' "$WORK/audit.json")
  rss=$(awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print $2}' "$WORK/time.txt")
  cpu=$(awk -F: '/User time|System time/ {c += $2} END {print c}' "$WORK/time.txt")
  local srv
  srv=$(awk -v t="$((after - before))" -v hz="$TICK" 'BEGIN {printf "%.2f", t / hz}')
  echo "$kind $entries $secs $cpu $srv $rss $sigs $load" >> "$WORK/runs.txt"
  echo "$label: $entries entries in $secs s = $(awk -v n="$entries" -v s="$secs" 'BEGIN {printf "%.0f", n / s}') entries/s; kt CPU $cpu s, ktlog CPU $srv s, kt peak RSS $rss KiB; load before: $load"
  cat "$WORK/audit.json"
}

for i in $(seq 1 "$RUNS"); do run tree "audit (tree + prev chains), run $i" --from 0; done
for i in $(seq 1 "$SIG_RUNS"); do
  run sig "audit --verify-signatures --from $SIG_FROM, run $i" --from "$SIG_FROM" --verify-signatures
done
echo "== bounds again, $(uptime)"
bounds "$WORK/bounds_after.json"

echo "== summary (ratios to the higher bound of the two measurements)"
python3 - "$WORK/bounds_before.json" "$WORK/bounds_after.json" "$WORK/runs.txt" <<'PY'
import json, sys
def load(p):
    return {b["name"]: b for b in json.load(open(p))["benchmarks"]}
bs = [load(sys.argv[1]), load(sys.argv[2])]
def best(name, key):
    return max(b[name][key] for b in bs if name in b)
leaf = best("BM_Sha256LeafNodeBound/real_time", "entries_per_s")
# CPU per entry of the bound (one core): cpu_time (ms) per 65,536 entries.
leaf_cpu = min(b["BM_Sha256LeafNodeBound/real_time"]["cpu_time"] for b in bs) * 1e3 / 65536
one = best("BM_Ed25519PerEntryBound/real_time/threads:1", "verifies_per_s")
# Verifies per CPU-second of the one-thread bound (its rate x real / CPU time).
one_cpu = max(b[n]["verifies_per_s"] * b[n]["real_time"] / b[n]["cpu_time"]
              for b in bs for n in ["BM_Ed25519PerEntryBound/real_time/threads:1"] if n in b)
two = best("BM_Ed25519PerEntryBound/real_time/threads:2", "verifies_per_s")
runs = [l.strip().split(None, 7) for l in open(sys.argv[3]) if l.strip()]
tree = [r for r in runs if r[0] == "tree"]
sig = [r for r in runs if r[0] == "sig"]
if tree:
    print(f"bound BM_Sha256LeafNodeBound: {leaf:,.0f} entries/s, {leaf_cpu:.3f} us CPU/entry (one core)")
    rates = []
    for r in tree:
        n, s, cpu, srv = int(r[1]), float(r[2]), float(r[3]), float(r[4])
        rates.append(n / s)
        print(f"  tree: {n / s:,.0f} entries/s = {n / s / leaf:.2f} of the bound; kt {cpu * 1e6 / n:.3f} us CPU/entry"
              f" ({cpu * 1e6 / n / leaf_cpu:.2f}x the bound's), ktlog {srv * 1e6 / n:.3f} us/entry;"
              f" RSS {int(r[5]) / 1024:.0f} MiB; load {r[7]}")
    print(f"TREE best {max(rates):,.0f} entries/s = {max(rates) / leaf:.2f} of the bound"
          f" (runs {min(rates) / leaf:.2f}-{max(rates) / leaf:.2f}); targets >= 1,000,000/s and >= 0.45")
if sig:
    print(f"bound BM_Ed25519PerEntryBound: {one:,.0f} verifies/s on one thread (two-core ideal {2 * one:,.0f}),"
          f" {two:,.0f} on threads:2; {one_cpu:,.0f} verifies per CPU-second")
    rates = []
    for r in sig:
        n, s, cpu, v = int(r[1]), float(r[2]), float(r[3]), int(r[6])
        rates.append(v / s)
        print(f"  sig: {n:,} entries, {v:,} verifies in {s:.2f} s = {v / s:,.0f} verifies/s = {v / s / (2 * one):.2f}"
              f" of 2 x threads:1, {v / s / two:.2f} of threads:2; {v / cpu:,.0f} verifies per kt CPU-s"
              f" ({v / cpu / one_cpu:.2f} of the bound's); load {r[7]}")
    print(f"SIG best {max(rates):,.0f} verifies/s = {max(rates) / (2 * one):.2f} of the two-core ideal"
          f" (runs {min(rates) / (2 * one):.2f}-{max(rates) / (2 * one):.2f}); target >= 0.80")
PY
uptime
