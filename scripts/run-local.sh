#!/usr/bin/env bash
# run-local.sh BUILD_DIR: starts the local deployment (data under ./var).
# Until the nodes exist it lists what was built.
set -euo pipefail
build=${1:-build}
echo "Built binaries:"
find "$build" -maxdepth 2 -type f -executable \( -name 'kt*' \) -printf '  %p\n' | sort
