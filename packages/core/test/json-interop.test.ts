// ProtoJSON cross-checked against @bufbuild/protobuf (protobuf-es, a dev dependency): the same messages must print byte for byte the same JSON text, and JSON either library
// reads must mean the same message. protobuf-es gets the schema as a descriptor set from protoc.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as protobufEs from "@bufbuild/protobuf";
import * as protobufEsWkt from "@bufbuild/protobuf/wkt";
import { createRegistry, fromJsonString, toJsonString, type JsonWriteOptions, type Registry } from "../src/index.js";
import { compileJsonSchemas } from "./json-schema.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

describe("json: byte-for-byte agreement with @bufbuild/protobuf's toJson", function () {
  this.timeout(120_000);
  let s: Awaited<ReturnType<typeof compileJsonSchemas>>;
  let es: Any;
  let esReg: Any;
  let registry: Registry;

  before(async function () {
    s = await compileJsonSchemas();
    registry = createRegistry(s.p3.$file, s.p2.$file);
    es = protobufEs;
    const wkt = protobufEsWkt;
    const set = join(s.dir, "set.pb");
    execFileSync("protoc", ["-I", s.dir, "--include_imports", `--descriptor_set_out=${set}`, "jt.proto", "jt2.proto"]);
    esReg = es.createFileRegistry(es.fromBinary(wkt.FileDescriptorSetSchema, readFileSync(set)));
  });
  after(() => s?.cleanup());

  const esOptions = (o: JsonWriteOptions) => ({
    registry: esReg,
    alwaysEmitImplicit: o.emitDefaultValues === true,
    enumAsInteger: o.enumAsInteger === true,
    useProtoFieldName: o.useProtoFieldName === true,
  });

  /**
   * The one known difference: an Any's "@type" key comes first in sgwire's output (as protobuf C++
   * and the ProtoJSON spec's examples print it), last in protobuf-es's. Key order is not meaning
   * in JSON; this moves protobuf-es's "@type" first so the rest compares byte for byte.
   */
  function typeFirst(j: unknown): unknown {
    if (Array.isArray(j)) return j.map(typeFirst);
    if (j === null || typeof j !== "object") return j;
    const o = j as Record<string, unknown>;
    const out: Record<string, unknown> = "@type" in o ? { "@type": o["@type"] } : {};
    for (const k of Object.keys(o)) if (k !== "@type") out[k] = typeFirst(o[k]);
    return out;
  }

  /** sgwire's JSON text of `msg` and protobuf-es's of the same bytes, for each option set. */
  function agree(typeName: string, msg: unknown): void {
    const type = registry.getMessage(typeName)!;
    const desc = esReg.getMessage(typeName);
    const bytes = type.toBinary(msg);
    const esMsg = es.fromBinary(desc, bytes);
    for (const o of [{}, { emitDefaultValues: true }, { enumAsInteger: true, useProtoFieldName: true }] as JsonWriteOptions[]) {
      const ours = toJsonString(type, msg, { ...o, registry });
      const theirs = JSON.stringify(typeFirst(es.toJson(desc, esMsg, esOptions(o))));
      assert.equal(ours, theirs, `${typeName} with ${JSON.stringify(o)}`);
      // and the text means the same message to both readers
      const back = type.toBinary(fromJsonString(type, theirs, { registry }));
      assert.equal(JSON.stringify(typeFirst(es.toJson(desc, es.fromBinary(desc, back), esOptions(o)))), theirs);
    }
  }

  it("scalars of every type, enums, explicit presence, nested messages", () => {
    const { Scalars } = s.p3;
    agree("jt.Scalars", Scalars.create());
    agree("jt.Scalars", Scalars.create({
      d: 1e-7, f: 0.1, i32: -1, i64: -(2n ** 63n), u32: 4294967295, u64: 2n ** 64n - 1n, s32: 5, s64: 9007199254740993n,
      fx32: 7, fx64: 8n, sf32: -9, sf64: -10n, b: true, s: "\u2028\"\\\u0000\u{1F600}", by: new Uint8Array([251, 255, 0]),
      color: 2, optI32: 0, child: Scalars.create({ d: NaN, f: -Infinity, color: 77 }), snakeCaseName: "n", optStr: "",
    }));
  });

  it("repeated fields and maps of every key kind", () => {
    const { Collections, Scalars } = s.p3;
    const m = Collections.create({ nums: [0, -1, 2], strs: ["", "a"], items: [Scalars.create(), Scalars.create({ i32: 3 })], colors: [0, 1, 5], blobs: [new Uint8Array(0), new Uint8Array([1])] });
    Object.assign(m.byName, { a: 1n, "": -2n });
    Object.assign(m.byInt, { "-3": "x", "10": "y" });
    Object.assign(m.byBool, { true: 1, false: 0 });
    Object.assign(m.byU64, { "18446744073709551615": Scalars.create({ s: "z" }) });
    agree("jt.Collections", m);
  });

  it("oneofs and json_name", () => {
    const { Choice, Scalars } = s.p3;
    agree("jt.Choice", Choice.create({ pick: { case: "num", value: 0 }, renamed: "r" }));
    agree("jt.Choice", Choice.create({ pick: { case: "msg", value: Scalars.create() } }));
    agree("jt.Choice", Choice.create({ pick: { case: "nul", value: 0 } }));
  });

  it("well-known types, Any through the registry", () => {
    const { Wkt, Scalars } = s.p3;
    const w = s.wkt;
    const pack = (t: Any, m: unknown) => ({ typeUrl: `type.googleapis.com/${t.typeName}`, value: t.toBinary(m) });
    agree("jt.Wkt", Wkt.create({
      any: pack(Scalars, Scalars.create({ i64: 5n })),
      ts: { seconds: -62135596800n, nanos: 10_000 },
      dur: { seconds: -1n, nanos: -5 },
      mask: { paths: ["a_b.c_d", "e"] },
      st: { fields: { k: { kind: { case: "listValue", value: { values: [{ kind: { case: "numberValue", value: 1.5 } }, { kind: { case: "nullValue", value: 0 } }] } } } } },
      val: { kind: { case: "structValue", value: { fields: {} } } },
      list: { values: [] },
      i32w: { value: 0 }, i64w: { value: -1n }, bw: { value: new Uint8Array([1, 2]) }, sw: { value: "s" }, boolw: { value: false },
      dw: { value: Infinity }, fw: { value: 0.5 }, u32w: { value: 1 }, u64w: { value: 2n }, empty: {},
      vals: [{ kind: { case: "boolValue", value: true } }],
      anys: [pack(w.Timestamp, { seconds: 1n, nanos: 0 }), pack(w.FieldMask, { paths: ["x_y"] }), pack(w.Struct, { fields: {} }), pack(w.Value, { kind: { case: "stringValue", value: "v" } }), pack(w.Int64Value, { value: 3n }), pack(w.Any, pack(Scalars, Scalars.create({ b: true })))],
    }));
  });

  it("proto2: groups, explicit presence, closed enums", () => {
    const { P2 } = s.p2;
    agree("jt2.P2", P2.create({ x: 0, c: 2, cs: [1, 2], grp: { y: 4 }, s: "" }));
    agree("jt2.P2", P2.create());
  });
});
