#!/usr/bin/env bash
# Installs the Debian 12 packages this project needs that are missing.
# Idempotent: prints what it installs, installs nothing when all are present.
set -euo pipefail

PACKAGES=(
  build-essential cmake make pkg-config git curl
  libssl-dev            # OpenSSL 3: all crypto
  libboost-dev libboost-system-dev   # Boost.Asio
  liblmdb-dev lmdb-utils
  libcpp-httplib-dev    # HTTP server/client (compiled library in Debian)
  nlohmann-json3-dev
  zlib1g-dev
  libgtest-dev libgmock-dev
  libbenchmark-dev
  clang libclang-rt-14-dev   # libFuzzer + sanitizers for tests/fuzz
  wrk                   # HTTP load generator for bench/
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
