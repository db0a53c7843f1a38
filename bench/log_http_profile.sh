#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# log_http_profile.sh: where ktlog's CPU goes on the POST /v1/bindings path,
# in units of its own Ed25519 verifications, which does not depend on how
# busy the shared machine is (both sides slow down together). Runs
# log_http_load's write phase with ktlog under `perf record` (cpu-clock,
# DWARF call graphs), keeps the samples taken while PostBinding was running,
# and prints each part of the write path as a share of the samples and per
# verification. Target (issue 4): everything beyond the verify <= ~50 us.
# Usage: bench/log_http_profile.sh [BUILD_DIR] [extra log_http_load flags]
set -euo pipefail
BUILD=${1:-build}
shift || true
OUT=$(mktemp -d /tmp/log_http_profile.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
export LOG_HTTP_LOAD_NODE_PREFIX="perf record -q -F 2000 --call-graph dwarf,16384 -o $OUT/perf.data"
uptime
"$BUILD/bench/log_http_load" --rate 0 --read-seconds 1 --per-submitter 150 "$@" | head -3
# The write window: first to last sample with PostBinding on the stack.
WINDOW=$(perf script -i "$OUT/perf.data" -F time,ip,sym --no-demangle 2>/dev/null |
  awk '/^[ \t]*[0-9]+\.[0-9]+:/{t=$1+0} /PostBinding/{if(!f)f=t; l=t} END{printf "%.3f,%.3f", f, l}')
perf script -i "$OUT/perf.data" --time "$WINDOW" -F ip,sym --no-demangle 2>/dev/null > "$OUT/stacks.txt"
python3 - "$OUT/stacks.txt" <<'EOF'
import collections, sys
samples, cur = [], None
for line in open(sys.argv[1]):
    if not line.strip():
        if cur: samples.append(' '.join(cur))
        cur = None
        continue
    if cur is None: cur = []
    parts = line.split(None, 1)
    if len(parts) == 2: cur.append(parts[1].strip())
if cur: samples.append(' '.join(cur))
# First match wins, in this order (mangled names).
parts = [('Ed25519 verify', 'Ed25519Verifier6Verify'),
         ('verifier setup (key import)', 'Ed25519Verifier6Create'),
         ('request JSON parse', 'ParseBindingRequest'),
         ('answer: proof + JSON', 'AnswerSequenced'),
         ('user state read', 'ReadUser'),
         ('waiting for the sequencer (futex)', '_M_futex_wait_until'),
         ('submit hand-off', 'Sequencer6Submit'),
         ('rest of PostBinding', 'PostBinding'),
         ('route wrapper, metrics', 'LogHttpServer8Register'),
         ('cpp-httplib response write (2 poll+send)', 'write_response_core'),
         ('cpp-httplib read, parse, keep-alive', 'process_and_close_socket'),
         ('sequencer + commit threads', 'Sequencer4Impl')]
count = collections.Counter()
for s in samples:
    for name, key in parts:
        if key in s:
            count[name] += 1
            break
    else:
        count['other'] += 1
total, verify = len(samples), count['Ed25519 verify']
if verify == 0: sys.exit('no verify samples: is perf allowed (perf_event_paranoid)?')
print(f'ktlog samples during writes: {total}; verify {100 * verify / total:.1f}%; '
      f'beyond the verify: {(total - verify) / verify:.3f} verify-times per write')
# The verify share needs only the innermost ktlog frame; the split below
# needs stacks unwound to the thread's start, which perf's DWARF unwinder
# does not always manage: the share that was is printed with it.
whole = sum(1 for s in samples if 'clone3' in s or 'start_thread' in s)
print(f'split (valid only if most stacks are whole: {100 * whole / total:.0f}% are), '
      f'share of samples and per verify:')
for name, _ in parts + [('other', '')]:
    print(f'  {name:42s} {100 * count[name] / total:5.1f}%  {count[name] / verify:.3f}')
EOF
