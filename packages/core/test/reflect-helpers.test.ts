// equals, clone, deep-partial create and the presence helpers, against codecs `sgwire compile`
// generates for a proto3 and a proto2 schema. The generated code imports @sgwire/core as a package
// (its dist/), and so does this test: build core before running it.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  clearField, clone, defineMessage, equals, getExtension, hasExtension, isFieldSet, setExtension, type Extension, type MessageType,
} from "@sgwire/core";

const PKG = new URL("../", import.meta.url).pathname;
const ROOT = new URL("../../../", import.meta.url).pathname;

const SHOP = `syntax = "proto3";
package shop;
enum Color { COLOR_UNSPECIFIED = 0; RED = 1; }
message Meta { string content_type = 1; map<string, string> labels = 2; }
message Item { string sku = 1; int64 price = 2; bytes blob = 3; Meta meta = 4; }
message Order {
  Meta metadata = 1;
  repeated Item items = 2;
  map<string, Item> by_sku = 3;
  map<int64, bytes> blobs = 4;
  map<bool, Color> flags = 5;
  oneof payment { string card = 6; Item voucher = 7; bytes token = 8; }
  double d = 9;
  float f = 10;
  int64 i64 = 11;
  uint64 u64 = 12;
  bool b = 13;
  string s = 14;
  bytes data = 15;
  Color color = 16;
  optional int32 opt = 17;
  optional double opt_d = 18;
  repeated double ds = 19;
  repeated bytes bs = 20;
  Order child = 21;
}
`;
const LEGACY = `syntax = "proto2";
package legacy;
enum Kind { A = 1; B = 2; }
message Legacy {
  required int32 id = 1;
  optional string name = 2 [default = "n"];
  optional Kind kind = 3;
  optional group G = 4 { optional int32 x = 5; }
  repeated int32 r = 6 [packed = true];
  repeated Kind kinds = 7;
  extensions 100 to 200;
  optional int32 after = 300;
}
message Sub { optional int32 x = 1; optional bytes b = 2; }
extend Legacy { optional int32 e_int = 100; repeated string e_strs = 101; optional Sub e_msg = 102; optional bytes e_bytes = 103; }
`;

/* eslint-disable @typescript-eslint/no-explicit-any */
interface Gen {
  Order: MessageType<any>;
  Item: MessageType<any>;
  Meta: MessageType<any>;
  Legacy: MessageType<any>;
  Sub: MessageType<any>;
  ext: { int: Extension<any, number>; strs: Extension<any, string[]>; msg: Extension<any, any>; bytes: Extension<any, Uint8Array> };
}

let dir = "";
let g: Gen;

function tag(field: number, wire: number): number {
  return field * 8 + wire;
}
/** A raw unknown varint field (field < 16, value < 128). */
function unk(field: number, value: number): Uint8Array {
  return Uint8Array.of(tag(field, 0), value);
}
function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

before(async function () {
  this.timeout(120_000);
  dir = mkdtempSync(join(tmpdir(), "sgwire-helpers-"));
  writeFileSync(join(dir, "shop.proto"), SHOP);
  writeFileSync(join(dir, "legacy.proto"), LEGACY);
  mkdirSync(join(dir, "node_modules", "@sgwire"), { recursive: true });
  symlinkSync(PKG, join(dir, "node_modules", "@sgwire", "core"), "dir");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  execFileSync(process.execPath, [join(ROOT, "packages/codegen/bin/sgwire.js"), "compile", "-I", dir, "--out", dir, join(dir, "shop.proto"), join(dir, "legacy.proto")], { encoding: "utf8" });
  const shop = await import(pathToFileURL(join(dir, "shop.sg.ts")).href);
  const legacy = await import(pathToFileURL(join(dir, "legacy.sg.ts")).href);
  g = {
    Order: shop.Order, Item: shop.Item, Meta: shop.Meta, Legacy: legacy.Legacy, Sub: legacy.Sub,
    ext: { int: legacy.e_int$ext, strs: legacy.e_strs$ext, msg: legacy.e_msg$ext, bytes: legacy.e_bytes$ext },
  };
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** An Order with every field set. */
function fullOrder(): any {
  return g.Order.create({
    metadata: { contentType: "text/plain", labels: { a: "1", b: "2" } },
    items: [{ sku: "x", price: 5n, blob: Uint8Array.of(1, 2) }, { sku: "y", meta: { contentType: "m" } }],
    bySku: { x: { sku: "x", price: -1n }, y: {} },
    blobs: { "-5": Uint8Array.of(9), "7": new Uint8Array(0) },
    flags: { true: 1, false: 0 },
    payment: { case: "voucher", value: { sku: "v", price: 10n } },
    d: 1.5, f: 0.25, i64: -(2n ** 63n), u64: 2n ** 64n - 1n, b: true, s: "héllo", data: Uint8Array.of(0, 255),
    color: 1, opt: 0, optD: -0, ds: [0, -0, Infinity], bs: [Uint8Array.of(3), new Uint8Array(0)],
    child: { s: "child", child: { i64: 1n } },
  });
}

// ---------------------------------------------------------------------------------------------
describe("create(init): deep partial", () => {
  it("fills nested messages, repeated message elements, map message values and oneof values with their defaults", () => {
    const o = g.Order.create({
      metadata: { contentType: "x" },
      items: [{ sku: "a" }],
      bySku: { k: { price: 3n } },
      payment: { case: "voucher", value: { sku: "v" } },
    });
    assert.deepEqual({ ...o.metadata, labels: { ...o.metadata.labels } }, { contentType: "x", labels: {} });
    assert.equal(Object.getPrototypeOf(o.metadata.labels), null);
    assert.deepEqual(o.items[0], g.Item.create({ sku: "a" }));
    assert.equal(o.items[0].price, 0n);
    assert.ok(o.items[0].blob instanceof Uint8Array);
    assert.equal(o.bySku.k.sku, "");
    assert.equal(o.bySku.k.price, 3n);
    assert.equal(Object.getPrototypeOf(o.bySku), null);
    assert.equal(o.payment.case, "voucher");
    assert.equal(o.payment.value.price, 0n);
    assert.equal(o.payment.value.sku, "v");
    // the rest are create()'s defaults
    assert.equal(o.s, "");
    assert.equal(o.i64, 0n);
    assert.deepEqual(o.ds, []);
    assert.equal(o.opt, undefined);
    assert.equal(o.child, undefined);
    // it encodes like the same message built by hand
    const byHand = g.Order.create();
    byHand.metadata = g.Meta.create();
    byHand.metadata.contentType = "x";
    byHand.items.push(g.Item.create());
    byHand.items[0].sku = "a";
    byHand.bySku.k = g.Item.create();
    byHand.bySku.k.price = 3n;
    const voucher = g.Item.create();
    voucher.sku = "v";
    byHand.payment = { case: "voucher", value: voucher };
    assert.deepEqual(g.Order.toBinary(o), g.Order.toBinary(byHand));
  });

  it("makes new containers and messages, but takes bytes as they are", () => {
    const blob = Uint8Array.of(1, 2, 3);
    const init = { items: [{ sku: "a", blob }], ds: [1, 2], metadata: { labels: { a: "b" } }, bs: [blob] };
    const o = g.Order.create(init);
    assert.notEqual(o.items, init.items);
    assert.notEqual(o.items[0], init.items[0]);
    assert.notEqual(o.ds, init.ds);
    assert.notEqual(o.metadata.labels, init.metadata.labels);
    assert.equal(o.items[0].blob, blob, "bytes are referenced, not copied");
    assert.equal(o.bs[0], blob);
    init.ds.push(3);
    assert.deepEqual(o.ds, [1, 2]);
  });

  it("uses a nested value that is a message already (from create() or fromBinary) as it is", () => {
    const item = g.Item.create({ sku: "a" });
    const decoded = g.Meta.fromBinary(g.Meta.toBinary(g.Meta.create({ contentType: "x" })));
    const o = g.Order.create({ items: [item, { sku: "b" }], metadata: decoded, bySku: { a: item }, payment: { case: "voucher", value: item } });
    assert.equal(o.items[0], item);
    assert.notEqual(o.items[1], undefined);
    assert.equal(o.items[1].price, 0n, "a partial one is built");
    assert.equal(o.metadata, decoded);
    assert.equal(o.bySku.a, item);
    assert.equal(o.payment.value, item);
    // a message missing a property create() sets is a partial init (built, not shared)
    const { blob: _blob, ...partial } = g.Item.create({ sku: "c" });
    const o2 = g.Order.create({ items: [partial] });
    assert.notEqual(o2.items[0], partial);
    assert.ok(o2.items[0].blob instanceof Uint8Array);
  });

  it("keeps a oneof case the oneof does not have as given: encoding refuses it, naming the case", () => {
    const o = g.Order.create({ payment: { case: "cash", value: 1 } } as any);
    assert.deepEqual(o.payment, { case: "cash", value: 1 });
    assert.throws(() => g.Order.toBinary(o), /payment\.case: expected one of card, voucher, token or undefined, got string "cash"/);
  });

  it("create() without init still returns a fresh message, and a full message goes through unchanged", () => {
    const a = g.Order.create();
    const b = g.Order.create();
    assert.notEqual(a, b);
    assert.notEqual(a.items, b.items);
    const full = fullOrder();
    const again = g.Order.create(full);
    assert.deepEqual(g.Order.toBinary(again), g.Order.toBinary(full));
    assert.ok(equals(g.Order, again, full));
  });

  it("undefined and null leave fields at create()'s value", () => {
    const o = g.Order.create({ s: undefined, metadata: undefined, opt: null as any, payment: undefined, child: null as any });
    assert.deepEqual(g.Order.toBinary(o), new Uint8Array(0));
    assert.equal("payment" in o, false);
    assert.equal(o.child, undefined);
  });

  it("refuses bad inits with a TypeError naming the path", () => {
    const cases: [unknown, RegExp][] = [
      [{ metadata: { contentTyp: "x" } }, /^TypeError: shop\.Order\.metadata: shop\.Meta has no field "contentTyp"$/],
      [{ items: [{}, 5] }, /^TypeError: shop\.Order\.items\[1\]: expected a shop\.Item message or init object, got number 5$/],
      [{ items: { 0: {} } }, /^TypeError: shop\.Order\.items: expected an array, got an object$/],
      [{ bySku: new Map() }, /^TypeError: shop\.Order\.bySku: expected a plain object \(map keys as strings\), got a Map$/],
      [{ bySku: { k: [] } }, /^TypeError: shop\.Order\.bySku\["k"\]: expected a shop\.Item message or init object, got an array$/],
      [{ payment: "card" }, /^TypeError: shop\.Order\.payment: expected a oneof \{ case, value \}, got string "card"$/],
      [{ child: { child: { child: { metadata: "x" } } } }, /^TypeError: shop\.Order\.child\.child\.child\.metadata: expected a shop\.Meta message or init object, got string "x"$/],
      [{ $unknown: Uint8Array.of(8, 1) }, /^TypeError: shop\.Order\.\$unknown: expected an array of Uint8Array/],
    ];
    for (const [init, re] of cases) assert.throws(() => g.Order.create(init as any), (e: unknown) => re.test(String(e)), JSON.stringify(init, (_k, v) => (typeof v === "bigint" ? String(v) : v)));
  });

  it("an init that contains itself, or is nested past the stack, is a RangeError", () => {
    const loop: any = { s: "x" };
    loop.child = loop;
    assert.throws(() => g.Order.create(loop), /RangeError: shop\.Order\.create: init nested too deeply \(does it contain itself\?\)/);
    let deep: any = {};
    for (let i = 0; i < 200_000; i++) deep = { child: deep };
    assert.throws(() => g.Order.create(deep), /nested too deeply/);
  });

  it("keeps $unknown (copied list, same bytes) and proto2 required/default fields absent", () => {
    const raw = unk(30 % 16, 1);
    const o = g.Order.create({ $unknown: [raw] });
    assert.deepEqual(o.$unknown, [raw]);
    const l = g.Legacy.create({ id: 0, g: { x: 2 } });
    assert.equal(l.id, 0);
    assert.equal(l.name, undefined);
    assert.deepEqual(l.g, { x: 2 });
    assert.deepEqual(g.Legacy.fromBinary(g.Legacy.toBinary(l)), l);
  });

  it("a codec without reflection data gets a shallow assign", () => {
    interface Bare { a: number; $unknown?: Uint8Array[] }
    const Bare = defineMessage<Bare>({ typeName: "t.Bare", create: () => ({ a: 0 }), size: () => 0, write: () => {}, read: () => ({ a: 0 }) });
    assert.deepEqual(Bare.create({ a: 2 }), { a: 2 });
  });
});

// ---------------------------------------------------------------------------------------------
describe("create(init): types (tsc --strict)", function () {
  this.timeout(120_000);
  it("accepts deep partial inits and refuses wrong names and types", () => {
    const check = `
import { Order, Item, Color } from "./shop.sg.js";
import { Legacy, Kind } from "./legacy.sg.js";
import type { MessageInit } from "@sgwire/core";

// deep partial inits compile
export const a: Order = Order.create({ metadata: { contentType: "x" } });
export const b: Order = Order.create({
  items: [{ sku: "a" }, { meta: { labels: { k: "v" } } }],
  bySku: { k: { price: 3n } },
  blobs: { "1": new Uint8Array(2) },
  flags: { true: Color.RED },
  payment: { case: "voucher", value: { sku: "v" } },
  i64: -1n, u64: 2n, color: Color.RED, opt: 1, child: { child: { s: "x" } },
});
export const c: Order = Order.create({ payment: { case: "card", value: "4111" } });
export const d: Order = Order.create({ payment: { case: undefined } });
export const e: Order = Order.create(b);
export const f: Legacy = Legacy.create({ id: 1, g: {}, kinds: [Kind.A] });
const init: MessageInit<Item> = { sku: "s" };
export const h: Item = Item.create(init);

// wrong names and types do not
// @ts-expect-error a misspelled nested field
Order.create({ metadata: { contentTyp: "x" } });
// @ts-expect-error a misspelled field
Order.create({ itemz: [] });
// @ts-expect-error a number for an int64 field
Order.create({ i64: 1 });
// @ts-expect-error a number for a nested int64 field
Order.create({ items: [{ price: 1 }] });
// @ts-expect-error a string for a bool
Order.create({ b: "true" });
// @ts-expect-error a case the oneof does not have
Order.create({ payment: { case: "cash", value: "1" } });
// @ts-expect-error a value of another member's type
Order.create({ payment: { case: "card", value: { sku: "v" } } });
// @ts-expect-error a misspelled field in a oneof's message value
Order.create({ payment: { case: "voucher", value: { skew: "v" } } });
// @ts-expect-error a wrong map value type
Order.create({ bySku: { k: { price: "3" } } });
// @ts-expect-error a map of strings where bytes belong
Order.create({ blobs: { "1": "x" } });
// @ts-expect-error an object for a repeated field
Order.create({ items: { sku: "a" } });
// @ts-expect-error a string for an enum
Order.create({ color: "RED" });
// @ts-expect-error a field of the nested message's parent
Order.create({ child: { metadata: { sku: "x" } } });
`;
    writeFileSync(join(dir, "check.ts"), check);
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext", types: [], skipLibCheck: false, noUncheckedIndexedAccess: true },
      include: ["check.ts"],
    }));
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    try {
      execFileSync(process.execPath, [tsc, "-p", join(dir, "tsconfig.json")], { encoding: "utf8" });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      assert.fail(`tsc found type errors (or an @ts-expect-error line that compiles):\n${err.stdout ?? ""}${err.stderr ?? ""}`);
    }
    // and the check can fail: the same file without one @ts-expect-error does not compile
    writeFileSync(join(dir, "check.ts"), check.replace("// @ts-expect-error a number for a nested int64 field\n", ""));
    assert.throws(() => execFileSync(process.execPath, [tsc, "-p", join(dir, "tsconfig.json")], { encoding: "utf8" }), (e: any) => /check\.ts\(\d+,\d+\): error TS2322.*bigint/s.test(String(e.stdout)));
  });
});

// ---------------------------------------------------------------------------------------------
describe("equals", () => {
  it("a message equals its decoded bytes and its clone; changing any one field makes it differ", () => {
    const o = fullOrder();
    assert.ok(equals(g.Order, o, g.Order.fromBinary(g.Order.toBinary(o))));
    assert.ok(equals(g.Order, o, clone(g.Order, o)));
    const edits: ((x: any) => void)[] = [
      (x) => { x.metadata.contentType = "y"; },
      (x) => { x.metadata.labels.c = "3"; },
      (x) => { x.items[1].meta.contentType = "n"; },
      (x) => { x.items.pop(); },
      (x) => { x.items.reverse(); },
      (x) => { x.bySku.x.price = 0n; },
      (x) => { delete x.bySku.y; },
      (x) => { x.blobs["-5"] = Uint8Array.of(8); },
      (x) => { x.flags.true = 0; },
      (x) => { x.payment.value.sku = "w"; },
      (x) => { x.payment = { case: "card", value: "v" }; },
      (x) => { x.payment = undefined; },
      (x) => { x.d = 2; },
      (x) => { x.i64 = 0n; },
      (x) => { x.u64 -= 1n; },
      (x) => { x.b = false; },
      (x) => { x.s = "hello"; },
      (x) => { x.data = Uint8Array.of(0, 254); },
      (x) => { x.data = Uint8Array.of(0); },
      (x) => { x.color = 0; },
      (x) => { x.opt = undefined; },
      (x) => { x.ds[2] = -Infinity; },
      (x) => { x.bs[1] = Uint8Array.of(0); },
      (x) => { x.child.child.i64 = 2n; },
      (x) => { x.child = undefined; },
      (x) => { x.$unknown = [unk(14, 1)]; },
    ];
    edits.forEach((edit, i) => {
      const x = clone(g.Order, o);
      edit(x);
      assert.equal(equals(g.Order, o, x), false, `edit ${i}: ${edit.toString()}`);
      assert.equal(equals(g.Order, x, o), false, `edit ${i} (swapped)`);
    });
  });

  it("implicit presence: a field at its default equals one set to the default (or left undefined by hand)", () => {
    const set = g.Order.create({ s: "", i64: 0n, d: 0, b: false, data: new Uint8Array(0), color: 0 });
    assert.ok(equals(g.Order, g.Order.create(), set));
    const byHand = { items: [], bySku: {}, blobs: {}, flags: {}, ds: [], bs: [] };
    assert.ok(equals(g.Order, g.Order.create(), byHand));
  });

  it("explicit presence: absent differs from set to the default", () => {
    assert.equal(equals(g.Order, g.Order.create(), g.Order.create({ opt: 0 })), false);
    assert.equal(equals(g.Order, g.Order.create(), g.Order.create({ metadata: {} })), false);
    assert.equal(equals(g.Legacy, g.Legacy.create({ id: 1 }), g.Legacy.create({ id: 1, name: "n" })), false, "proto2 [default] set explicitly");
    assert.equal(equals(g.Legacy, g.Legacy.create(), g.Legacy.create({ id: 0 })), false, "required absent vs 0");
    assert.ok(equals(g.Legacy, g.Legacy.create({ id: 1, g: { x: 1 } }), g.Legacy.fromBinary(g.Legacy.toBinary(g.Legacy.create({ id: 1, g: { x: 1 } })))));
  });

  it("floats compare as IEEE 754: -0 equals 0, NaN equals nothing unless nanEqual", () => {
    assert.ok(equals(g.Order, g.Order.create({ d: -0 }), g.Order.create({ d: 0 })));
    assert.ok(equals(g.Order, g.Order.create({ optD: -0 }), g.Order.create({ optD: 0 })));
    const nan = g.Order.create({ d: NaN, ds: [NaN] });
    assert.equal(equals(g.Order, nan, g.Order.create({ d: NaN, ds: [NaN] })), false);
    assert.ok(equals(g.Order, nan, g.Order.create({ d: NaN, ds: [NaN] }), { nanEqual: true }));
    assert.equal(equals(g.Order, nan, g.Order.create({ d: 0, ds: [NaN] }), { nanEqual: true }), false);
    assert.ok(equals(g.Order, g.Order.create({ f: 0.1 }), g.Order.create({ f: 0.1 })));
  });

  it("bytes by content, maps whatever their order, oneof without a case equals none", () => {
    const buf = Uint8Array.of(9, 9, 1, 2, 9);
    assert.ok(equals(g.Order, g.Order.create({ data: buf.subarray(2, 4) }), g.Order.create({ data: Uint8Array.of(1, 2) })));
    assert.ok(equals(g.Order, g.Order.create({ data: Buffer.from([1, 2]) }), g.Order.create({ data: Uint8Array.of(1, 2) })));
    const m1 = g.Order.create({ bySku: { a: { sku: "a" }, b: { sku: "b" } }, blobs: { "1": Uint8Array.of(1), "-1": Uint8Array.of(2) } });
    const m2 = g.Order.create({ blobs: { "-1": Uint8Array.of(2), "1": Uint8Array.of(1) }, bySku: { b: { sku: "b" }, a: { sku: "a" } } });
    assert.deepEqual(Object.keys(m2.bySku), ["b", "a"]);
    assert.ok(equals(g.Order, m1, m2));
    assert.ok(equals(g.Order, g.Order.create(), { ...g.Order.create(), payment: { case: undefined } }));
    assert.equal(equals(g.Order, g.Order.create({ payment: { case: "card", value: "" } }), g.Order.create()), false, "a selected case with an empty value is set");
  });

  it("unknown fields: raw bytes, order kept within a field number but not across numbers; { unknown: false } ignores them", () => {
    const base = g.Order.toBinary(g.Order.create({ s: "x" }));
    const dec = (...u: Uint8Array[]) => g.Order.fromBinary(concat(base, ...u));
    assert.ok(equals(g.Order, dec(unk(14, 1), unk(15, 2)), dec(unk(15, 2), unk(14, 1))), "different numbers in another order");
    assert.equal(equals(g.Order, dec(unk(14, 1), unk(14, 2)), dec(unk(14, 2), unk(14, 1))), false, "one number, another order");
    assert.equal(equals(g.Order, dec(unk(14, 1)), dec(unk(14, 2))), false);
    assert.equal(equals(g.Order, dec(unk(14, 1)), dec()), false);
    assert.ok(equals(g.Order, dec(unk(14, 1)), dec(), { unknown: false }));
    assert.ok(equals(g.Order, { ...dec(), $unknown: [] }, dec()));
    // non-canonical (overlong) varint: the same value, other bytes
    assert.equal(equals(g.Order, dec(Uint8Array.of(tag(14, 0), 0x81, 0x00)), dec(unk(14, 1))), false);
  });

  it("errors: no reflection data, not a message, too deep or cyclic", () => {
    interface Bare { a: number }
    const Bare = defineMessage<Bare>({ typeName: "t.Bare", create: () => ({ a: 0 }), size: () => 0, write: () => {}, read: () => ({ a: 0 }) });
    assert.throws(() => equals(Bare, { a: 1 }, { a: 1 }), /t\.Bare has no reflection data/);
    assert.throws(() => equals({} as any, {}, {}), /^TypeError: equals: expected a message type/);
    assert.throws(() => equals(g.Order, g.Order.create(), 5 as any), /^TypeError: shop\.Order \(b\): expected a shop\.Order message object, got number/);
    assert.throws(() => equals(g.Order, g.Order.create({ metadata: {} }), { ...g.Order.create(), metadata: "x" }), /^TypeError: shop\.Order\.metadata: expected a shop\.Meta message object, got string/);
    const a: any = g.Order.create();
    a.child = a;
    const b: any = g.Order.create();
    b.child = b;
    assert.throws(() => equals(g.Order, a, b), /^RangeError: equals: shop\.Order nested too deeply to compare/);
    assert.ok(equals(g.Order, a, a), "the same object is equal to itself without walking it");
  });
});

// ---------------------------------------------------------------------------------------------
describe("clone", () => {
  it("is deep, encodes byte-identically, and owns its bytes (unknown fields included)", () => {
    const o = fullOrder();
    const wire = concat(g.Order.toBinary(o), unk(14, 1), Uint8Array.of(tag(13, 2), 2, 7, 7));
    const dec = g.Order.fromBinary(wire);
    const c = clone(g.Order, dec);
    assert.deepEqual(g.Order.toBinary(c), g.Order.toBinary(dec));
    assert.deepEqual(g.Order.toBinary(c), wire);
    assert.ok(equals(g.Order, c, dec));
    // no shared objects
    assert.notEqual(c.metadata, dec.metadata);
    assert.notEqual(c.metadata.labels, dec.metadata.labels);
    assert.equal(Object.getPrototypeOf(c.bySku), null);
    assert.equal(Object.getPrototypeOf(c.blobs), null);
    assert.notEqual(c.items[0], dec.items[0]);
    assert.notEqual(c.payment, dec.payment);
    assert.notEqual(c.payment.value, dec.payment.value);
    assert.notEqual(c.$unknown, dec.$unknown);
    assert.notEqual(c.child.child, dec.child.child);
    // decoded bytes are views of `wire`; the clone's are not
    assert.equal(dec.data.buffer, wire.buffer);
    wire.fill(0xee);
    assert.deepEqual(c.data, Uint8Array.of(0, 255));
    assert.deepEqual(c.items[0].blob, Uint8Array.of(1, 2));
    assert.deepEqual(c.blobs["-5"], Uint8Array.of(9));
    assert.deepEqual(c.bs[0], Uint8Array.of(3));
    assert.deepEqual(concat(...c.$unknown), concat(unk(14, 1), Uint8Array.of(tag(13, 2), 2, 7, 7)));
    assert.notEqual(c.$unknown[0].buffer, wire.buffer);
    assert.equal(Object.getPrototypeOf(c.data), Uint8Array.prototype);
  });

  it("{ copyBytes: false } shares bytes with the original, and nothing else", () => {
    const wire = g.Order.toBinary(fullOrder());
    const dec = g.Order.fromBinary(wire);
    const c = clone(g.Order, dec, { copyBytes: false });
    assert.equal(c.data, dec.data);
    assert.equal(c.items[0].blob, dec.items[0].blob);
    assert.notEqual(c.items[0], dec.items[0]);
    assert.deepEqual(g.Order.toBinary(c), wire);
  });

  it("clones proto2 messages (required, groups, closed enums) and oneof scalars", () => {
    const l = g.Legacy.create({ id: 7, name: "n", kind: 2, g: { x: -1 }, r: [1, 2], kinds: [1] });
    const c = clone(g.Legacy, l);
    assert.notEqual(c.g, l.g);
    assert.deepEqual(g.Legacy.toBinary(c), g.Legacy.toBinary(l));
    const o = g.Order.create({ payment: { case: "token", value: Uint8Array.of(5) } });
    const co = clone(g.Order, o);
    assert.notEqual(co.payment.value, o.payment.value);
    assert.deepEqual(co.payment.value, Uint8Array.of(5));
  });

  it("refuses values of the wrong shape, naming the path, and cycles", () => {
    assert.throws(() => clone(g.Order, { ...g.Order.create(), items: [{}, "x"] }), /^TypeError: shop\.Order\.items\[1\]: expected a shop\.Item message object, got string$/);
    assert.throws(() => clone(g.Order, { ...g.Order.create(), payment: { case: "cash", value: 1 } }), /^TypeError: shop\.Order\.payment\.case: shop\.Order has no oneof member "cash"$/);
    assert.throws(() => clone(g.Order, { ...g.Order.create(), bySku: new Map() }), /^TypeError: shop\.Order\.bySku: expected a map object/);
    assert.throws(() => clone(g.Order, { ...g.Order.create(), data: [1, 2] }), /^TypeError: shop\.Order\.data: expected a Uint8Array, got object$/);
    const a: any = g.Order.create();
    a.child = a;
    assert.throws(() => clone(g.Order, a), /^RangeError: clone: shop\.Order nested too deeply to copy/);
  });
});

// ---------------------------------------------------------------------------------------------
describe("extensions ($extensions)", () => {
  /** A Legacy with every extension set (values, not raw fields), and `after` beyond the range. */
  function withExtensions(): any {
    const l = g.Legacy.create({ id: 1, after: 5 });
    setExtension(l, g.ext.int, 7);
    setExtension(l, g.ext.strs, ["a", "b"]);
    setExtension(l, g.ext.msg, g.Sub.create({ x: 3, b: Uint8Array.of(1, 2) }));
    setExtension(l, g.ext.bytes, Uint8Array.of(9));
    return l;
  }

  it("equals: decoded (raw) and set (values) extensions compare by value, without decoding the message's own", () => {
    const set = withExtensions();
    const wire = g.Legacy.toBinary(set);
    const dec = g.Legacy.fromBinary(wire);
    assert.ok(dec.$extensions.every((e: any) => e.raw !== undefined), "decoded extensions are raw until read");
    assert.ok(equals(g.Legacy, set, dec));
    assert.ok(equals(g.Legacy, dec, set));
    assert.ok(equals(g.Legacy, dec, g.Legacy.fromBinary(wire)), "raw against raw");
    assert.ok(dec.$extensions.every((e: any) => e.raw !== undefined), "equals left them raw");
    const edits: ((x: any) => void)[] = [
      (x) => setExtension(x, g.ext.int, 8),
      (x) => setExtension(x, g.ext.strs, ["a"]),
      (x) => { getExtension(x, g.ext.msg).x = 4; },
      (x) => { getExtension(x, g.ext.msg).b = Uint8Array.of(1); },
      (x) => setExtension(x, g.ext.bytes, Uint8Array.of(8)),
      (x) => { x.$extensions.splice(0, 1); },
    ];
    edits.forEach((edit, i) => {
      const x = g.Legacy.fromBinary(wire);
      edit(x);
      assert.equal(equals(g.Legacy, set, x), false, `edit ${i}`);
      assert.equal(equals(g.Legacy, g.Legacy.fromBinary(wire), x), false, `edit ${i}, raw against set`);
    });
    // an empty repeated extension is absent
    const a = g.Legacy.create({ id: 1 });
    setExtension(a, g.ext.strs, []);
    assert.ok(equals(g.Legacy, a, g.Legacy.create({ id: 1 })));
    assert.equal(hasExtension(a, g.ext.strs), false);
  });

  it("clone: copies extensions (raw bytes and values) deeply, encoding to the same bytes", () => {
    const wire = g.Legacy.toBinary(withExtensions());
    const dec = g.Legacy.fromBinary(wire);
    const c = clone(g.Legacy, dec);
    assert.deepEqual(g.Legacy.toBinary(c), wire);
    assert.notEqual(c.$extensions, dec.$extensions);
    wire.fill(0);
    assert.equal(getExtension(c, g.ext.int), 7);
    assert.deepEqual(getExtension(c, g.ext.msg).b, Uint8Array.of(1, 2));
    const set = withExtensions();
    const cs = clone(g.Legacy, set);
    assert.notEqual(getExtension(cs, g.ext.msg), getExtension(set, g.ext.msg));
    assert.notEqual(getExtension(cs, g.ext.strs), getExtension(set, g.ext.strs));
    assert.notEqual(getExtension(cs, g.ext.bytes), getExtension(set, g.ext.bytes));
    assert.deepEqual(g.Legacy.toBinary(cs), g.Legacy.toBinary(set));
    assert.ok(equals(g.Legacy, cs, set));
    const shared = clone(g.Legacy, set, { copyBytes: false });
    assert.equal(getExtension(shared, g.ext.bytes), getExtension(set, g.ext.bytes));
  });

  it("create(init) takes $extensions as a new list", () => {
    const set = withExtensions();
    const c = g.Legacy.create(set);
    assert.notEqual(c.$extensions, set.$extensions);
    assert.deepEqual(g.Legacy.toBinary(c), g.Legacy.toBinary(set));
    assert.throws(() => g.Legacy.create({ $extensions: 5 }), /^TypeError: legacy\.Legacy\.\$extensions: expected an array of extension fields, got number 5$/);
  });
});

// ---------------------------------------------------------------------------------------------
describe("isFieldSet / clearField", () => {
  it("implicit presence: set when not the zero value", () => {
    const o = g.Order.create();
    for (const name of ["d", "f", "i64", "u64", "b", "s", "data", "color"]) assert.equal(isFieldSet(g.Order, o, name), false, name);
    const set = g.Order.create({ d: -0, f: NaN, i64: -1n, u64: 1n, b: true, s: " ", data: Uint8Array.of(0), color: 1 });
    for (const name of ["d", "f", "i64", "u64", "b", "s", "data", "color"]) assert.equal(isFieldSet(g.Order, set, name), true, name);
  });

  it("explicit presence: set when present, even at the default; repeated and maps when not empty; oneof members when selected", () => {
    const o = g.Order.create({ opt: 0, metadata: {}, ds: [0], bySku: { "": {} }, payment: { case: "card", value: "" } });
    const unset = g.Order.create();
    for (const name of ["opt", "metadata", "ds", "bySku", "card"]) {
      assert.equal(isFieldSet(g.Order, o, name), true, name);
      assert.equal(isFieldSet(g.Order, unset, name), false, name);
    }
    assert.equal(isFieldSet(g.Order, o, "voucher"), false);
    assert.equal(isFieldSet(g.Legacy, g.Legacy.create({ id: 0 }), "id"), true);
    assert.equal(isFieldSet(g.Legacy, g.Legacy.create(), "name"), false);
  });

  it("takes a FieldInfo, a local name or a number; anything else is a TypeError", () => {
    const o = g.Order.create({ opt: 3 });
    const f = g.Order.field(17)!;
    assert.ok(isFieldSet(g.Order, o, f) && isFieldSet(g.Order, o, 17) && isFieldSet(g.Order, o, "opt"));
    assert.throws(() => isFieldSet(g.Order, o, 99), /^TypeError: isFieldSet: shop\.Order has no field 99$/);
    assert.throws(() => isFieldSet(g.Order, o, "opt_d"), /^TypeError: isFieldSet: shop\.Order has no field "opt_d"$/);
    assert.throws(() => clearField(g.Order, o, g.Item.field(1)!), /^TypeError: clearField: field sku = 1 is not a field of shop\.Order$/);
    assert.throws(() => isFieldSet(g.Order, null as any, "opt"), /^TypeError: shop\.Order: expected a shop\.Order message object, got null$/);
  });

  it("clearField resets every field to create()'s value", () => {
    const o = fullOrder();
    for (const f of g.Order.fields) {
      clearField(g.Order, o, f);
      assert.equal(isFieldSet(g.Order, o, f), false, f.name);
    }
    assert.deepEqual(o, g.Order.create());
    assert.deepEqual(g.Order.toBinary(o), new Uint8Array(0));
    // clearing a oneof member that is not selected leaves the selection alone
    const p = g.Order.create({ payment: { case: "card", value: "x" } });
    clearField(g.Order, p, "token");
    assert.deepEqual(p.payment, { case: "card", value: "x" });
    clearField(g.Order, p, 6);
    assert.equal(p.payment, undefined);
    const l = g.Legacy.create({ id: 1, name: "x", g: {} });
    clearField(g.Legacy, l, "id");
    clearField(g.Legacy, l, "name");
    clearField(g.Legacy, l, "g");
    assert.deepEqual(l, g.Legacy.create());
  });
});
