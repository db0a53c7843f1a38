#!/usr/bin/env bash
# run-local.sh BUILD_DIR: the local deployment behind `make run`. One ktlog and
# three ktwitness nodes on 127.0.0.1 with a 2-of-3 witness quorum, data under
# ./var (keys are generated on the first run and kept). Stays in the
# foreground; Ctrl-C stops every node.
set -euo pipefail

build=${1:-build}
ktlog="$build/log/ktlog"
ktwitness="$build/witness/ktwitness"
kt="$build/client/kt"
var=${KT_VAR:-./var}
origin=${KT_ORIGIN:-localhost/kt-log}
log_port=${KT_LOG_PORT:-8080}
witness_ports=(${KT_WITNESS_PORTS:-8081 8082 8083})

for b in "$ktlog" "$ktwitness"; do
  if [[ ! -x "$b" ]]; then
    echo "run-local: $b not found; run 'make build' first" >&2
    exit 1
  fi
done

mkdir -p "$var"
chmod 700 "$var"

# Keys and the operator token, generated once.
if [[ ! -f "$var/log.key" ]]; then
  "$ktlog" keygen --origin "$origin" --out "$var/log.key" > "$var/log.vkey"
fi
if [[ ! -f "$var/operator.token" ]]; then
  (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$var/operator.token")
  chmod 600 "$var/operator.token"
fi
log_vkey=$(cat "$var/log.vkey")

policy="$var/policy.txt"
{
  echo "log $log_vkey http://127.0.0.1:$log_port"
  for i in 0 1 2; do
    name="witness$i"
    if [[ ! -f "$var/$name.key" ]]; then
      "$ktwitness" keygen --name "localhost/$name" --out "$var/$name.key" > "$var/$name.vkey"
    fi
    echo "witness $name $(cat "$var/$name.vkey") http://127.0.0.1:${witness_ports[$i]}"
  done
  echo "group quorum2of3 2 witness0 witness1 witness2"
  echo "quorum quorum2of3"
} > "$policy.tmp"
mv "$policy.tmp" "$policy"

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "run-local: stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup INT TERM EXIT

for i in 0 1 2; do
  "$ktwitness" serve --listen "127.0.0.1:${witness_ports[$i]}" --data "$var/witness$i" \
    --key "$var/witness$i.key" --trust-log "$log_vkey" > "$var/witness$i.log" 2>&1 &
  pids+=($!)
done
"$ktlog" serve --listen "127.0.0.1:$log_port" --data "$var/log" --key "$var/log.key" \
  --origin "$origin" --witness-policy "$policy" --operator-token-file "$var/operator.token" \
  --export-dir "$var/web" > "$var/ktlog.log" 2>&1 &
pids+=($!)

# Wait (bounded) until every node answers.
wait_http() {
  local url=$1
  for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "run-local: $url did not come up; see $var/*.log" >&2
  return 1
}
wait_http "http://127.0.0.1:$log_port/healthz"
for p in "${witness_ports[@]}"; do wait_http "http://127.0.0.1:$p/healthz" || true; done
# The log publishes /checkpoint once 2 of 3 witnesses cosigned the first one.
wait_http "http://127.0.0.1:$log_port/checkpoint"

cat <<EOF

Local key transparency deployment (data in $var):
  log       http://127.0.0.1:$log_port   origin $origin   (logs: $var/ktlog.log)
  witnesses http://127.0.0.1:${witness_ports[0]}  http://127.0.0.1:${witness_ports[1]}  http://127.0.0.1:${witness_ports[2]}   (2-of-3 quorum)
  policy    $policy
  operator token file  $var/operator.token
  static tiles         $var/web

Try:
  curl -s http://127.0.0.1:$log_port/checkpoint
EOF
if [[ -x "$kt" ]]; then
  echo "  $kt --policy $policy --state $var/kt-state checkpoint"
fi
echo
echo "Ctrl-C stops all nodes."
wait -n "${pids[@]}" || true
echo "run-local: a node exited; see $var/*.log" >&2
