import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadProtoFiles } from "@sgwire/codegen";

// One generated module per .proto file: every type must land in the model of the file that
// declares it (the conformance suite's editions schemas and well-known types once did not).
describe("types are attributed to their .proto file", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "sgwire-files-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const layout = (files: string[]) =>
    Object.fromEntries(loadProtoFiles(files, { includeDirs: [dir] }).map((f) => [f.name, f.messages.map((m) => m.fullName).sort()]));

  it("after an editions `reserved` name (protobufjs's parser drops its file name there)", () => {
    const f = write("ed.proto", [
      'edition = "2023";',
      "package ed;",
      "message First {",
      "  reserved old_name;",
      "  int32 a = 1;",
      "}",
      "message Second { First f = 1; }",
      "",
    ].join("\n"));
    assert.deepEqual(layout([f]), { "ed.proto": ["ed.First", "ed.Second"] });
  });

  it("for the well-known types protobufjs bundles", () => {
    const f = write("wkt.proto", [
      'syntax = "proto3";',
      "package wkt;",
      'import "google/protobuf/timestamp.proto";',
      'import "google/protobuf/wrappers.proto";',
      "message At { google.protobuf.Timestamp t = 1; google.protobuf.Int32Value n = 2; }",
      "",
    ].join("\n"));
    const files = loadProtoFiles([f], { includeDirs: [dir] });
    const byName = Object.fromEntries(files.map((m) => [m.name, m]));
    assert.deepEqual(Object.keys(byName).sort(), ["google/protobuf/timestamp.proto", "google/protobuf/wrappers.proto", "wkt.proto"]);
    assert.deepEqual(byName["google/protobuf/timestamp.proto"]!.messages.map((m) => m.fullName), ["google.protobuf.Timestamp"]);
    assert.deepEqual(byName["wkt.proto"]!.dependencies, ["google/protobuf/timestamp.proto", "google/protobuf/wrappers.proto"]);
  });

  it("for two files that share a package", () => {
    const a = write("a.proto", 'syntax = "proto3";\npackage same;\nimport "b.proto";\nmessage A { B b = 1; }\n');
    write("b.proto", 'syntax = "proto3";\npackage same;\nmessage B { int32 x = 1; }\n');
    assert.deepEqual(layout([a]), { "a.proto": ["same.A"], "b.proto": ["same.B"] });
  });
});
