#!/usr/bin/env bash
# The main job. Sets up the machine, installs and builds, then shows sgwire at work:
#   1. compiles the example schemas with `sgwire compile` (examples/schemas -> examples/gen)
#   2. examples/hello: one message whose large field is sent zero-copy over kernel UDP and
#      received as a view of the receive buffer
#   3. a short kv comparison on loopback: the same key-value server and load generator with
#      sgwire and with protobufjs, printing throughput, latency and bytes copied per response
# About a minute after set-up. More: examples/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
npx -y pnpm@12.4.2 install --frozen-lockfile
bash examples/scripts/udp-buffers.sh

cd examples
tsx=./node_modules/.bin/tsx
echo
echo "== 1/3  sgwire compile --out gen -I schemas schemas/hello.proto schemas/kv.proto"
./node_modules/.bin/sgwire compile --out gen -I schemas schemas/hello.proto schemas/kv.proto
echo
echo "== 2/3  examples/hello.ts: one Greeting with a 32 KiB attachment, over kernel UDP on loopback"
"$tsx" hello.ts
echo
echo "== 3/3  examples/kv: sgwire vs protobufjs, same server and load, kernel UDP on loopback"
"$tsx" kv/compare.ts --quick --json results/tmp/compare-udp.json
