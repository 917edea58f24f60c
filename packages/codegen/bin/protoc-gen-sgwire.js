#!/usr/bin/env node
// protoc / buf plugin: CodeGeneratorRequest on stdin, CodeGeneratorResponse on stdout.
import { runPluginBinary } from "../dist/plugin.js";

if (process.stdin.isTTY || process.argv.length > 2) {
  process.stderr.write(`protoc-gen-sgwire is a plugin for protoc and buf; they run it. For example:
  protoc --plugin=protoc-gen-sgwire=node_modules/.bin/protoc-gen-sgwire --sgwire_out=src/gen -I proto file.proto
parameters (--sgwire_opt=a=b,c=d): target=ts|js, import_extension=.js|.ts|none, copy_threshold=BYTES, include_imports
`);
  process.exit(process.argv.includes("--help") || process.argv.includes("-h") ? 0 : 2);
}
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
process.stdout.write(runPluginBinary(Buffer.concat(chunks)));
