#!/usr/bin/env bash
# The one test command: set up the machine, install and build every package, run every
# package's tests. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
npx -y pnpm@12.4.2 install --frozen-lockfile
npx -y pnpm@12.4.2 -r --workspace-concurrency=1 run test
