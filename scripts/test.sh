#!/usr/bin/env bash
# The one test command: set up the machine, install and build every package, run every
# package's tests, then install the packed packages into fresh projects outside the workspace
# (npm and pnpm) and use them (scripts/test-packages.sh, about a minute). `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
npx -y pnpm@12.4.2 install --frozen-lockfile
npx -y pnpm@12.4.2 -r --workspace-concurrency=1 run test
bash scripts/test-packages.sh
