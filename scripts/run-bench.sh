#!/usr/bin/env bash
# run-bench.sh BUILD_DIR: runs every Google Benchmark binary; results go to
# bench/out/ (JSON) and the console. Record figures in bench/RESULTS.md.
set -euo pipefail
build=${1:-build}
mkdir -p bench/out
for b in "$build"/bench/*_bench; do
  [ -x "$b" ] || continue
  name=$(basename "$b")
  echo "== $name"
  "$b" --benchmark_out="bench/out/$name.json" --benchmark_out_format=json
done
