#!/usr/bin/env bash
# fuzz-run.sh FUZZER SEED_DIR WORK_DIR SECONDS: runs a libFuzzer target for a
# bounded time from its seed corpus; new inputs go to WORK_DIR, never the repo.
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3 seconds=$4
mkdir -p "$work/corpus" "$work/artifacts"
[ -d "$seeds" ] || mkdir -p "$seeds"
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$work/corpus" "$seeds"
