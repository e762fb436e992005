#!/usr/bin/env bash
# `make demo`: until the database tiers exist, the demo is liblf's echo server under every
# concurrency model, loaded side by side on loopback (see docs/echo-demo.md).
set -euo pipefail
cd "$(dirname "$0")/.."
exec build/bin/lf-echo-demo "$@"
