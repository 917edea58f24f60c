#!/usr/bin/env bash
# The one test command: set up the machine, install and build every package, run every
# package's tests, then install the packed packages into fresh projects outside the workspace
# (npm and pnpm) and use them (scripts/test-packages.sh), and check that every figure in a README
# is rendered from its committed JSON (scripts/figures.ts). `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
npx -y pnpm@12.4.2 install --frozen-lockfile
# first, as it takes seconds: a README figure that no committed JSON renders fails the run
./node_modules/.bin/tsc -p scripts && ./node_modules/.bin/tsx scripts/figures.ts check
# As root, setup-system.sh has installed and set up everything the suites need (DPDK, the
# namespaces and veths, the RDMA VM's packages): a suite that would not run is then a failure,
# not a pending test (SGWIRE_REQUIRE, see packages/nic/test/suite/requirements.ts).
if [[ $(id -u) -eq 0 ]]; then export SGWIRE_REQUIRE=${SGWIRE_REQUIRE:-all}; fi
npx -y pnpm@12.4.2 -r --workspace-concurrency=1 run test
bash scripts/test-packages.sh
