#!/usr/bin/env bash
# The main job: set up the machine, install and build, compile a schema, then compare sgwire's
# zero-copy encode with protobufjs on the same messages.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
npx -y pnpm@12.4.2 install --frozen-lockfile
npx -y pnpm@12.4.2 --filter @sgwire/bench run bench:bytes -- --quick
