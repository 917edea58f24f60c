import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DecodeError, EncodeError } from "@sgwire/core";
import { loadProtoFiles, SchemaError } from "@sgwire/codegen";
import { Everything, Scalars } from "./generated/everything.sg.js";
import { Legacy } from "./generated/legacy.sg.js";
import { Item } from "./generated/editions.sg.js";

const b = (...x: number[]) => Uint8Array.from(x);

describe("malformed input", () => {
  const table: [string, Uint8Array, RegExp][] = [
    ["truncated tag", b(0x80), /cannot decode sgtest\.Scalars: truncated tag at offset 0/],
    ["truncated varint value", b(0x18, 0xff), /truncated varint/],
    ["varint over 10 bytes", b(0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), /varint longer than 10 bytes/],
    ["field number 0", b(0x00, 0x01), /invalid field number 0 at offset 0/],
    ["wire type 6", b(0x0e), /invalid wire type 6/],
    ["wire type 7 on an unknown field", b(0xff, 0x01), /invalid wire type 7/],
    ["length past the end", b(0x7a, 0x05, 0x61), /length 5 runs past the end/],
    ["truncated fixed64", b(0x51, 0x01, 0x02), /truncated 8-byte field/],
    ["truncated double", b(0x09, 0x00), /truncated 8-byte field/],
    ["invalid UTF-8 in a proto3 string", b(0x72, 0x02, 0xc3, 0x28), /invalid UTF-8 in string field at offset 2/],
    ["unknown field with a bad length", b(0xa2, 0x06, 0x0a), /runs past the end/],
    ["stray END_GROUP", b(0x0c), /END_GROUP for field 1 outside its group/],
    ["unterminated unknown group", b(0xa3, 0x06, 0x08, 0x01), /unterminated group/],
  ];
  for (const [name, bytes, re] of table) {
    it(`rejects ${name}`, () => {
      assert.throws(() => Scalars.fromBinary(bytes), (e: unknown) => e instanceof DecodeError && re.test(e.message));
    });
  }

  it("rejects a nested message whose length runs past its parent", () => {
    // Everything.nested (23, LEN) of length 2, holding a bytes field claiming 10 bytes
    assert.throws(() => Everything.fromBinary(b(0xba, 0x01, 0x02, 0x12, 0x0a)), /length 10 runs past the end/);
  });

  it("rejects a packed run that ends inside a varint", () => {
    assert.throws(() => Everything.fromBinary(b(0x2a, 0x02, 0x01, 0x80)), /truncated varint/);
  });

  it("limits recursion depth (100 by default, configurable)", () => {
    const deep = (n: number): Uint8Array => {
      // Everything.nested.child.child...: each level is tag 0x1a (child=3) + length
      let inner: number[] = [];
      for (let i = 0; i < n; i++) inner = [0x1a, ...lenBytes(inner.length), ...inner];
      return Uint8Array.from([0xba, 0x01, ...lenBytes(inner.length), ...inner]);
    };
    const lenBytes = (n: number) => (n < 128 ? [n] : n < 16384 ? [(n & 0x7f) | 0x80, n >> 7] : [(n & 0x7f) | 0x80, ((n >> 7) & 0x7f) | 0x80, n >> 14]);
    assert.doesNotThrow(() => Everything.fromBinary(deep(90)));
    assert.throws(() => Everything.fromBinary(deep(150)), /nesting deeper than 100/);
    assert.doesNotThrow(() => Everything.fromBinary(deep(150), { maxDepth: 200 }));
    assert.throws(() => Everything.fromBinary(deep(5), { maxDepth: 3 }), /nesting deeper than 3/);
  });

  it("groups must end with their own END_GROUP", () => {
    // Legacy.item is group 6: START(6) x=1 END(9)
    assert.throws(() => Legacy.fromBinary(b(0x08, 0x01, 0x33, 0x38, 0x01, 0x4c)), /END_GROUP for field 9 outside its group|END_GROUP/);
    assert.throws(() => Legacy.fromBinary(b(0x08, 0x01, 0x33, 0x38, 0x01)), /group 6 has no END_GROUP/);
    assert.deepEqual(Legacy.fromBinary(b(0x08, 0x01, 0x33, 0x38, 0x01, 0x34)).item, { x: 1 });
  });

  it("does not validate UTF-8 where the schema says not to", () => {
    // ed.Item.raw_text has utf8_validation = NONE; name (2) validates
    // (ed.Item.legacy_required is absent from these inputs: allowPartial)
    assert.equal(Item.fromBinary(b(0x42, 0x01, 0xff), { allowPartial: true }).rawText, "\ufffd");
    assert.throws(() => Item.fromBinary(b(0x12, 0x01, 0xff), { allowPartial: true }), /invalid UTF-8/);
  });

  it("rejects input that is not a Uint8Array", () => {
    assert.throws(() => Scalars.fromBinary("abc" as never), /Scalars\.fromBinary: expected a Uint8Array, got string/);
  });
});

describe("wrong values on encode", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["a string for an int32", () => Scalars.toBinary({ ...Scalars.create(), fInt32: "5" as never }), /sgtest\.Scalars\.fInt32: expected an int32 number, got string "5"/],
    ["a fraction for an int32", () => Scalars.toBinary({ ...Scalars.create(), fInt32: 1.5 }), /fInt32: expected an int32 number, got number 1.5/],
    ["an int32 out of range", () => Scalars.toBinary({ ...Scalars.create(), fInt32: 2 ** 31 }), /fInt32: expected an int32 number/],
    ["a negative uint32", () => Scalars.toBinary({ ...Scalars.create(), fUint32: -1 }), /fUint32: expected a uint32 number/],
    ["a number for an int64", () => Scalars.toBinary({ ...Scalars.create(), fInt64: 5 as never }), /fInt64: expected a bigint in the int64 range, got number 5/],
    ["a uint64 out of range", () => Scalars.toBinary({ ...Scalars.create(), fUint64: 1n << 64n }), /fUint64: expected a bigint in the uint64 range/],
    ["a string for bytes", () => Scalars.toBinary({ ...Scalars.create(), fBytes: "x" as never }), /fBytes: expected a Uint8Array \(not detached, at most 2 GiB - 1 bytes\), got string "x"/],
    ["a number for a string", () => Scalars.toBinary({ ...Scalars.create(), fString: 5 as never }), /fString: expected a string, got number 5/],
    ["a deep wrong value names the path", () => Everything.toBinary(Everything.create({ rNested: [{ a: 1, payload: new Uint8Array(0) }, { a: 1, payload: new Uint8Array(0), child: { a: "x" as never, payload: new Uint8Array(0) } }] })), /sgtest\.Everything\.rNested\[1\]\.child\.a: expected an int32 number/],
    ["a bad map key", () => Everything.toBinary(Everything.create({ mInt32String: { abc: "x" } })), /mInt32String\["abc"\]: expected an int32 map key/],
    ["a bad oneof case", () => Everything.toBinary(Everything.create({ choice: { case: "nope", value: 1 } as never })), /choice\.case: expected one of cInt32, cString, cNested, cBytes or undefined/],
    ["a missing required field", () => Legacy.toBinary({ packedInts: [] } as never), /legacy\.Legacy\.id: required field is not set/],
    ["not an object", () => Scalars.toBinary(null as never), /sgtest\.Scalars: expected a message object, got null/],
  ];
  for (const [name, run, re] of cases) {
    it(`rejects ${name}`, () => {
      assert.throws(run, (e: unknown) => e instanceof EncodeError && re.test(e.message));
    });
  }
});

describe("schema errors name file:line:column", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "sgwire-schema-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it("a syntax error", () => {
    const f = write("syntax.proto", 'syntax = "proto3";\nmessage A {\n  int32 x = 1\n  int32 y = 2;\n}\n');
    assert.throws(() => loadProtoFiles([f]), (e: unknown) => e instanceof SchemaError && /syntax\.proto:4:3: illegal token 'int32'/.test(e.message));
  });

  it("an unknown type", () => {
    const f = write("unknown.proto", 'syntax = "proto3";\n\nmessage A {\n  Missing m = 1;\n}\n');
    assert.throws(() => loadProtoFiles([f]), (e: unknown) => e instanceof SchemaError && /unknown\.proto:4:3: unknown type "Missing" \(referenced in A\)/.test(e.message));
  });

  it("a missing import: the importing file, the import's line, and where it was looked for", () => {
    const f = write("imp.proto", 'syntax = "proto3";\npackage imp;\n\nimport "nowhere.proto";\n');
    assert.throws(() => loadProtoFiles([f]), (e: unknown) => e instanceof SchemaError &&
      /imp\.proto:4:1: import "nowhere\.proto" not found; searched the importing file's directory \S*sgwire-schema-\w+ \(no include paths given with -I\)$/.test(e.message));
    assert.throws(() => loadProtoFiles([f], { includeDirs: [join(dir, "inc1"), join(dir, "inc2")] }), (e: unknown) => e instanceof SchemaError &&
      /imp\.proto:4:1: import "nowhere\.proto" not found; searched the include paths \(-I\) \S*inc1, \S*inc2, then the importing file's directory /.test(e.message));
  });

  it("a missing import in an imported file names that file", () => {
    write("top.proto", 'syntax = "proto3";\nimport "mid.proto";\n');
    write("mid.proto", '// mid\nsyntax = "proto3";\nimport public "gone/away.proto";\n');
    assert.throws(() => loadProtoFiles([join(dir, "top.proto")], { includeDirs: [dir] }),
      (e: unknown) => e instanceof SchemaError && /mid\.proto:3:1: import "gone\/away\.proto" not found/.test(e.message) && e.line === 3);
  });

  it("a duplicate field number, at the second field (as protoc)", () => {
    const f = write("dup.proto", [
      'syntax = "proto3";',
      "package dup;",
      "message D {",
      "  message Inner { int32 z = 2; }",
      "  int32 a = 2; // x = 2",
      "  oneof o {",
      "    string b = 3;",
      "    bytes c = 2 [json_name = \"c\"];",
      "  }",
      "}",
      "",
    ].join("\n"));
    assert.throws(() => loadProtoFiles([f]), (e: unknown) => e instanceof SchemaError &&
      /dup\.proto:8:15: field number 2 has already been used in "D" by field "a"/.test(e.message));
  });

  it("an open enum whose first value is not zero (proto3, editions); a closed one may", () => {
    const p3 = write("ez3.proto", 'syntax = "proto3";\nenum E {\n  E_ONE = 1;\n  E_ZERO = 0;\n}\n');
    assert.throws(() => loadProtoFiles([p3]), (e: unknown) => e instanceof SchemaError &&
      /ez3\.proto:3:3: the first enum value must be zero in proto3 \(E\.E_ONE = 1\)/.test(e.message));
    const ed = write("ez23.proto", 'edition = "2023";\nmessage M { enum E { E_ONE = 1; } }\n');
    assert.throws(() => loadProtoFiles([ed]), /ez23\.proto:2:22: the first enum value must be zero for open enums \(M\.E\.E_ONE = 1\)/);
    const p2 = write("ez2.proto", 'syntax = "proto2";\nenum E { E_ONE = 1; }\n');
    assert.doesNotThrow(() => loadProtoFiles([p2]));
    const closed = write("ezc.proto", 'edition = "2023";\nenum E { option features.enum_type = CLOSED; E_ONE = 1; }\n');
    assert.doesNotThrow(() => loadProtoFiles([closed]));
  });

  it("a missing input file", () => {
    assert.throws(() => loadProtoFiles([join(dir, "absent.proto")]), /file not found/);
  });

  it("two types that would share a TypeScript name", () => {
    const f = write("clash.proto", 'syntax = "proto3";\nmessage A { message B {} }\nmessage A_B {}\n');
    assert.throws(() => loadProtoFiles([f]), (e: unknown) => e instanceof SchemaError && /clash\.proto:\d+:\d+: .*both become the TypeScript name A_B/.test(e.message));
  });

  it("a map with a float key", () => {
    const f = write("mapkey.proto", 'syntax = "proto3";\nmessage A {\n  map<float, int32> m = 1;\n}\n');
    assert.throws(() => loadProtoFiles([f]), (e: unknown) => e instanceof SchemaError && /mapkey\.proto:3:\d+/.test(e.message));
  });
});
