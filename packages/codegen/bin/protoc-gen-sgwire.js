#!/usr/bin/env node
// protoc / buf plugin: CodeGeneratorRequest on stdin, CodeGeneratorResponse on stdout.
import { runPluginBinary } from "../dist/plugin.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const response = runPluginBinary(Buffer.concat(chunks));
process.stdout.write(response);
