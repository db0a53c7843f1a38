#!/usr/bin/env bash
# demo.sh [BUILD_DIR]: `make demo`. Tells the key transparency + X3DH story
# with the real `kt` CLI against a `make run` deployment (one ktlog, three
# ktwitness, 2-of-3 quorum), starting one when none answers on the log port
# and stopping what it started at the end:
#   Bob registers his phone and publishes prekeys, then goes offline; Alice
#   verifies Bob's bundle against the log and sends; Bob comes back and
#   reads. Then the operator's token logs a new key for Bob's phone (the
#   server swapping his key): Alice's next send stops with a key-change
#   warning instead of encrypting, and Bob's monitor raises the alarm.
# Exits non-zero as soon as a step does not behave as told.
#
# Environment (defaults are `make run`'s): KT_VAR (./var), KT_LOG_PORT (8080),
# KT_WITNESS_PORTS ("8081 8082 8083"), KT_DEMO_DIR (a fresh directory under
# $KT_VAR/demo for the client state of Alice, Bob and the operator).
set -uo pipefail

build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
kt="$build/client/kt"
var=${KT_VAR:-./var}
log_port=${KT_LOG_PORT:-8080}
export KT_LOG_PORT=$log_port KT_VAR=$var
export KT_WITNESS_PORTS=${KT_WITNESS_PORTS:-8081 8082 8083}
log_url="http://127.0.0.1:$log_port"

if [[ ! -x "$kt" ]]; then
  echo "demo: $kt not found; run 'make build' first" >&2
  exit 1
fi

bold=$'\e[1m' red=$'\e[31m' green=$'\e[32m' off=$'\e[0m'
if [[ ! -t 1 ]]; then bold='' red='' green='' off=''; fi

started_pid=""
cleanup() {
  if [[ -n "$started_pid" ]]; then
    echo
    echo "demo: stopping the deployment it started"
    kill -TERM "$started_pid" 2>/dev/null || true
    wait "$started_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "${red}demo: FAILED: $*${off}" >&2
  exit 1
}

# 0. A deployment: reuse the running one, or start run-local.sh.
if curl -fsS -o /dev/null "$log_url/healthz" 2>/dev/null; then
  echo "demo: using the deployment already running on $log_url (data in $var)"
else
  echo "demo: no log on $log_url; starting one (scripts/run-local.sh, data in $var)"
  mkdir -p "$var"
  "$here/run-local.sh" "$build" > "$var/demo-run-local.log" 2>&1 &
  started_pid=$!
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$log_url/checkpoint" 2>/dev/null && break
    kill -0 "$started_pid" 2>/dev/null || fail "run-local.sh exited; see $var/demo-run-local.log"
    sleep 0.1
  done
  curl -fsS -o /dev/null "$log_url/checkpoint" 2>/dev/null ||
    fail "the deployment did not publish a checkpoint; see $var/demo-run-local.log"
fi
policy="$var/policy.txt"
token="$var/operator.token"
[[ -f "$policy" && -f "$token" ]] ||
  fail "$policy or $token missing: is the running deployment using KT_VAR=$var?"

run_id=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
demo=${KT_DEMO_DIR:-$var/demo/$run_id}
mkdir -p "$demo"
chmod 700 "$demo"
# Fresh user names per run, so the demo can run again on the same log.
bob="bob-$run_id"
alice="alice-$run_id"

step_no=0
step() {
  step_no=$((step_no + 1))
  echo
  echo "${bold}== $step_no. $1${off}"
  shift
  for line in "$@"; do echo "   $line"; done
}

# kt_as WHO ARGS...: runs kt with WHO's state directory, shows the command
# and its output, and leaves the exit code in $rc and the output in $out.
kt_as() {
  local who=$1
  shift
  echo "   \$ kt --state \$DEMO/$who ${*@Q}" | sed "s/'\([A-Za-z0-9_./-]*\)'/\1/g"
  out=$("$kt" --policy "$policy" --log "$log_url" --state "$demo/$who" "$@" 2>&1)
  rc=$?
  sed 's/^/     /' <<< "$out"
}

expect_rc() {
  [[ "$rc" == "$1" ]] || fail "step $step_no: expected exit code $1, got $rc"
}
expect_out() {
  grep -qF -- "$1" <<< "$out" || fail "step $step_no: expected the output to contain \"$1\""
}
ok() { echo "   ${green}✓ $1${off}"; }

echo "demo: client state under \$DEMO=$demo; users $bob and $alice"

step "Bob creates his phone's identity key and device store" \
  "The Ed25519 identity key stays on the phone (mode 0600)."
kt_as bob device init "$bob" phone
expect_rc 0
ok "device created"

step "Bob registers the phone in the log" \
  "A first device needs the operator's token (the account service vouches for it)." \
  "The log answers once the entry is in a witnessed checkpoint, with a proof."
kt_as bob device register --token-file "$token"
expect_rc 0
ok "bob/phone logged"

step "Bob publishes a signed prekey and one-time prekeys" \
  "The directory keeps them; every request is signed by the phone's logged key."
kt_as bob device publish-prekeys --opks 5
expect_rc 0
ok "prekeys published"

step "Bob starts monitoring his own account, then goes offline" \
  "The monitor reads every new log entry for him from here on."
kt_as bob monitor --watch "$bob"
expect_rc 0

step "Alice sets up and registers her laptop"
kt_as alice device init "$alice" laptop
expect_rc 0
kt_as alice device register --token-file "$token"
expect_rc 0
ok "alice/laptop logged"

step "Alice sends Bob a message while he is offline" \
  "kt fetches Bob's bundles, checks each identity key against the log (inclusion" \
  "proof, witness quorum, consistency with what Alice saw before, full history)," \
  "pins Bob's keys (first use), checks the signed prekey, runs X3DH, and posts" \
  "the initial message to the phone's mailbox."
kt_as alice send "$bob" "Hi Bob, this is Alice. Lunch tomorrow?"
expect_rc 0
expect_out "phone"
ok "encrypted to the verified key of bob/phone and delivered"

step "Bob comes back online and reads his mailbox" \
  "The phone decrypts with its prekeys and checks Alice's key against the log."
kt_as bob receive
expect_rc 0
expect_out "Lunch tomorrow?"
expect_out "$alice/laptop"
ok "Bob read Alice's message, sender verified"

step "The operator's token logs a NEW key for Bob's phone" \
  "The server swaps Bob's key: a key set with no endorsement by Bob's devices," \
  "and prekeys for the new key, so the directory serves the attacker's bundle."
kt_as operator device init "$bob" phone
expect_rc 0
kt_as operator device register --token-file "$token"
expect_rc 0
kt_as operator device publish-prekeys --opks 5
expect_rc 0
ok "the log now says bob/phone has another key"

step "Alice sends again: kt stops instead of encrypting to the new key" \
  "The logged key differs from the key Alice pinned for bob/phone."
kt_as alice send "$bob" "Are you still there?"
expect_rc 6
expect_out "KEY CHANGE"
expect_out "phone"
expect_out "NOT endorsed"
ok "nothing was encrypted; Alice is warned (exit 6)"

step "Bob's monitor raises the alarm" \
  "An unendorsed key set for a user who already had devices is high severity."
kt_as bob monitor --watch "$bob"
expect_rc 0
expect_out "[HIGH]"
expect_out "device=phone"
ok "Bob sees that his phone's key was replaced without his consent"

step "Failure counters of both devices"
kt_as alice device stats
expect_rc 0
expect_out "key_changed"
kt_as bob device stats
expect_rc 0

echo
echo "${green}${bold}demo: every step behaved as described.${off}"
