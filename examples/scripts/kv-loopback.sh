#!/usr/bin/env bash
# One command: the kv comparison on loopback (kernel UDP unless --backend tcp is given).
#   bash examples/scripts/kv-loopback.sh [kv/compare.ts options, e.g. --quick, --backend tcp]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/udp-buffers.sh
exec ./node_modules/.bin/tsx kv/compare.ts "$@"
