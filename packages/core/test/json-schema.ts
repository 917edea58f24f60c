// The schema the ProtoJSON tests compile with `sgwire compile`, and the helper that compiles it.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const PKG = new URL("../", import.meta.url).pathname;
const ROOT = new URL("../../../", import.meta.url).pathname;

export const JSON_TEST_PROTO3 = `syntax = "proto3";
package jt;
import "google/protobuf/any.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/empty.proto";

enum Color { COLOR_UNSPECIFIED = 0; RED = 1; GREEN = 2; }

message Scalars {
  reserved "old", "older";
  reserved 1000 to 1005;
  double d = 1;
  float f = 2;
  int32 i32 = 3;
  int64 i64 = 4;
  uint32 u32 = 5;
  uint64 u64 = 6;
  sint32 s32 = 7;
  sint64 s64 = 8;
  fixed32 fx32 = 9;
  fixed64 fx64 = 10;
  sfixed32 sf32 = 11;
  sfixed64 sf64 = 12;
  bool b = 13;
  string s = 14;
  bytes by = 15;
  Color color = 16;
  optional int32 opt_i32 = 17;
  Scalars child = 18;
  string snake_case_name = 19;
  optional string opt_str = 20;
}

message Collections {
  repeated int32 nums = 1;
  repeated string strs = 2;
  repeated Scalars items = 3;
  map<string, int64> by_name = 4;
  map<int32, string> by_int = 5;
  map<bool, Color> by_bool = 6;
  map<uint64, Scalars> by_u64 = 7;
  repeated Color colors = 8;
  repeated bytes blobs = 9;
  map<string, Color> color_by_name = 10;
}

message Choice {
  oneof pick {
    int32 num = 1;
    string text = 2;
    Scalars msg = 3;
    google.protobuf.NullValue nul = 4;
  }
  string renamed = 5 [json_name = "customName"];
}

message Wkt {
  google.protobuf.Any any = 1;
  google.protobuf.Timestamp ts = 2;
  google.protobuf.Duration dur = 3;
  google.protobuf.FieldMask mask = 4;
  google.protobuf.Struct st = 5;
  google.protobuf.Value val = 6;
  google.protobuf.ListValue list = 7;
  google.protobuf.Int32Value i32w = 8;
  google.protobuf.Int64Value i64w = 9;
  google.protobuf.BytesValue bw = 10;
  google.protobuf.StringValue sw = 11;
  google.protobuf.BoolValue boolw = 12;
  google.protobuf.DoubleValue dw = 13;
  google.protobuf.FloatValue fw = 14;
  google.protobuf.UInt32Value u32w = 15;
  google.protobuf.UInt64Value u64w = 16;
  google.protobuf.Empty empty = 17;
  repeated google.protobuf.Value vals = 18;
  map<string, google.protobuf.Value> vmap = 19;
  repeated google.protobuf.Any anys = 20;
}

message Node {
  Node next = 1;
  int32 v = 2;
}
`;

export const JSON_TEST_PROTO2 = `syntax = "proto2";
package jt2;

enum Closed { ONE = 1; TWO = 2; }

message P2 {
  optional int32 x = 1 [default = 5];
  optional Closed c = 2;
  repeated Closed cs = 3;
  optional group Grp = 4 {
    optional int32 y = 5;
  }
  optional string s = 6;
  extensions 100 to 200;
}

extend P2 {
  optional int32 ext_i32 = 100;
  repeated string ext_strs = 101;
  optional P2 ext_msg = 102;
}
`;

/** Compiles the schemas into a temporary directory and imports the generated modules. */
export async function compileJsonSchemas(): Promise<{ dir: string; p3: Record<string, any>; p2: Record<string, any>; wkt: Record<string, any>; cleanup(): void }> {
  const dir = mkdtempSync(join(tmpdir(), "sgwire-json-"));
  writeFileSync(join(dir, "jt.proto"), JSON_TEST_PROTO3);
  writeFileSync(join(dir, "jt2.proto"), JSON_TEST_PROTO2);
  mkdirSync(join(dir, "node_modules", "@sgwire"), { recursive: true });
  symlinkSync(PKG, join(dir, "node_modules", "@sgwire", "core"), "dir");
  execFileSync(process.execPath, [join(ROOT, "packages/codegen/bin/sgwire.js"), "compile", "-I", dir, "--out", dir, join(dir, "jt.proto"), join(dir, "jt2.proto")], { encoding: "utf8" });
  const load = async (f: string): Promise<Record<string, any>> => (await import(pathToFileURL(join(dir, f)).href)) as Record<string, any>;
  const wkt: Record<string, any> = {};
  for (const n of ["any", "timestamp", "duration", "field_mask", "struct", "wrappers", "empty"]) Object.assign(wkt, await load(`google/protobuf/${n}.sg.ts`));
  return { dir, p3: await load("jt.sg.ts"), p2: await load("jt2.sg.ts"), wkt, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
