#!/usr/bin/env bash
# Installs the Debian packages lfdb needs to build, test and demo.
# Idempotent and quiet: when everything is present it prints nothing and makes no network call.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  clang-14 libclang-rt-14-dev llvm-14 python3-clang-14
  libgtest-dev libgmock-dev libbenchmark-dev
  libfmt-dev libcli11-dev libyaml-cpp-dev liblua5.4-dev libjemalloc-dev lua-cjson-dev lua-bitop-dev libxxhash-dev liblzf-dev nettle-dev nlohmann-json3-dev
  redis-server redis-tools python3-redis nutcracker bc valgrind
  strace procps ccache
  tcl dpkg-dev
  libace-dev libasio-dev
  liburing-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js and npm run the npm test clients (tests/clients/node). Asked for by command, not by
# package: a machine's node may come from another package that already brings npm.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The redis-server package starts a system instance on 6379; tests start their own on free ports.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true; fi
echo "setup: done" >&2
