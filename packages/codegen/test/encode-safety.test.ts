import assert from "node:assert/strict";
import { MessageChannel } from "node:worker_threads";
import fc from "fast-check";
import { EncodeError, SgList } from "@sgwire/core";
import { Everything, Everything_Nested as Nested, Scalars } from "./generated/everything.sg.js";
import { Entry } from "./generated/small.sg.js";

/** Encode-side guarantees: outputs own their memory, sizes are exact, wrong values are EncodeErrors. */

const enc = new TextEncoder();
const throwsEncode = (run: () => unknown, re: RegExp) =>
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof EncodeError, `expected an EncodeError, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  });

function detach(b: Uint8Array): void {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(b, [b.buffer as ArrayBuffer]);
  port1.close();
  port2.close();
}

describe("outputs are isolated", () => {
  it("toBinary returns a buffer of its own: .buffer holds exactly the message", () => {
    const a = Entry.toBinary({ key: "secret-a", value: enc.encode("AAAA"), flags: 1, expiresAt: 5n });
    const b = Entry.toBinary({ key: "b", value: new Uint8Array(0), flags: 0, expiresAt: 0n });
    for (const out of [a, b]) {
      assert.equal(out.byteOffset, 0);
      assert.equal(out.buffer.byteLength, out.length);
    }
    assert.ok(!Buffer.from(b.buffer).includes("secret-a"));
  });

  it("transferring one output to another thread affects no other output and no later encode", () => {
    const a = Entry.toBinary({ key: "a", value: enc.encode("x"), flags: 0, expiresAt: 0n });
    const b = Entry.toBinary({ key: "bb", value: enc.encode("y"), flags: 0, expiresAt: 0n });
    const before = Uint8Array.from(b);
    detach(a);
    assert.equal(a.length, 0);
    assert.deepEqual(Uint8Array.from(b), before);
    for (let i = 0; i < 100; i++) {
      const c = Entry.toBinary({ key: `k${i}`, value: enc.encode("z"), flags: i, expiresAt: 0n });
      assert.equal(Entry.fromBinary(c).key, `k${i}`);
      const list = Entry.encode({ key: `k${i}`, value: enc.encode("z"), flags: i, expiresAt: 0n });
      assert.equal(Entry.fromBinary(list.toBinary()).flags, i);
    }
  });

  it("encode() without `into` gives each list its own scratch memory", () => {
    const l1 = Entry.encode({ key: "one", value: new Uint8Array(0), flags: 0, expiresAt: 0n });
    const l2 = Entry.encode({ key: "two-secret", value: new Uint8Array(0), flags: 0, expiresAt: 0n });
    for (const l of [l1, l2]) {
      for (const s of l.segments) assert.equal(s.buffer.byteLength, l.bytesCopied);
    }
    detach(l1.segments[0]!);
    assert.equal(Entry.fromBinary(l2.toBinary()).key, "two-secret");
  });

  it("a fresh list with references: its scratch runs hold only its own bytes, and a transferred run leaves the rest intact", () => {
    const big = new Uint8Array(100).fill(7);
    // small scratch (at most 64 bytes): each run is an array of its own; larger: views of the
    // list's own scratch
    for (const key of ["k", "k".repeat(80)]) {
      const make = (secret: string) => Entry.encode({ key, value: big, flags: 300, expiresAt: BigInt(secret.length) * 1000n }, { copyThreshold: 16 });
      const l1 = make("secret-one");
      const l2 = make("two");
      assert.equal(l1.segments.length, 3, "scratch, value, scratch");
      assert.equal(l1.segments[1], big);
      const scratch = [l1.segments[0]!, l1.segments[2]!];
      for (const s of scratch) {
        assert.ok(s.buffer.byteLength === s.length || s.buffer.byteLength === l1.bytesCopied, `${s.buffer.byteLength} bytes behind a ${s.length}-byte run`);
      }
      const expect2 = l2.toBinary();
      const tail = Uint8Array.from(l1.segments[2]!);
      detach(l1.segments[0]!);
      assert.deepEqual(l2.toBinary(), expect2);
      if (l1.segments[2]!.buffer !== l1.segments[0]!.buffer) assert.deepEqual(Uint8Array.from(l1.segments[2]!), tail);
      assert.equal(Entry.fromBinary(make("again").toBinary()).flags, 300);
    }
  });

  it("encodeInto writes toBinary's bytes into the caller's memory at an offset, and nothing else", () => {
    const msg = { key: "into", value: new Uint8Array(300).fill(9), flags: 300, expiresAt: 77n };
    const want = Entry.toBinary(msg);
    const target = new Uint8Array(want.length + 20).fill(0xee);
    const end = Entry.encodeInto(msg, target, 7);
    assert.equal(end, 7 + want.length);
    assert.deepEqual(target.subarray(7, end), want);
    assert.ok(target.subarray(0, 7).every((b) => b === 0xee) && target.subarray(end).every((b) => b === 0xee));
    // exactly full, offset 0 by default
    const exact = new Uint8Array(want.length);
    assert.equal(Entry.encodeInto(msg, exact), want.length);
    assert.deepEqual(exact, want);
  });

  it("encodeInto refuses a target too small (naming the size), a bad offset or target, and on a changed value writes nothing past the message", () => {
    const msg = { key: "k", value: new Uint8Array(10), flags: 1, expiresAt: 0n };
    const size = Entry.encodedSize(msg);
    const small = new Uint8Array(size + 3).fill(1);
    assert.throws(() => Entry.encodeInto(msg, small, 4), (e: unknown) => e instanceof RangeError && e.message.includes(`needs ${size} bytes, target has ${size - 1} from offset 4`));
    assert.ok(small.every((b) => b === 1), "nothing written");
    assert.throws(() => Entry.encodeInto(msg, small, -1), /offset must be an integer from 0 to target.length/);
    assert.throws(() => Entry.encodeInto(msg, small, 1.5), /offset must be an integer/);
    assert.throws(() => Entry.encodeInto(msg, [] as unknown as Uint8Array), /target must be a Uint8Array/);
    const grows = volatile(Scalars.create(), "fString", ["ab", "abcdefgh"]);
    const room = new Uint8Array(64).fill(2);
    const need = Scalars.encodedSize(Scalars.create({ fString: "ab" }));
    throwsEncode(() => Scalars.encodeInto(grows, room, 10), /Scalars\.fString: the value changed/);
    assert.ok(room.subarray(10 + need).every((b) => b === 2), "nothing past the measured message");
    assert.ok(room.subarray(0, 10).every((b) => b === 2));
  });

  it("a scratch buffer of a reused list that was transferred is replaced, not written", () => {
    const list = new SgList();
    Entry.encode({ key: "first", value: new Uint8Array(0), flags: 0, expiresAt: 0n }, { into: list });
    detach(list.segments[0]!);
    Entry.encode({ key: "second", value: new Uint8Array(0), flags: 0, expiresAt: 0n }, { into: list });
    assert.equal(Entry.fromBinary(list.toBinary()).key, "second");
  });
});

/** A message whose getter for `name` answers each read with the next value of `values` (the last repeats). */
function volatile<T extends object>(base: T, name: keyof T & string, values: unknown[]): T {
  let i = 0;
  return new Proxy(base, {
    get(target, prop, recv) {
      if (prop === name) return values[Math.min(i++, values.length - 1)];
      return Reflect.get(target, prop, recv);
    },
  });
}

describe("sizes are exact: a value that changes between the passes fails the encode", () => {
  const nested = (over: Partial<Nested>) => ({ ...Nested.create(), ...over });
  const cases: [string, () => object, (m: object) => unknown, RegExp][] = [
    ["a string that grows", () => volatile(Scalars.create(), "fString", ["ab", "abc"]), (m) => Scalars.encode(m as Scalars), /sgtest\.Scalars\.fString: the value changed while it was being encoded/],
    ["a string that turns non-ASCII with the same length", () => volatile(Scalars.create(), "fString", ["ab", "aé"]), (m) => Scalars.toBinary(m as Scalars), /Scalars\.fString: the value changed/],
    ["a number whose varint grows", () => volatile(Scalars.create(), "fUint32", [1, 300]), (m) => Scalars.toBinary(m as Scalars), /sgtest\.Scalars: the value changed/],
    ["a number whose varint shrinks", () => volatile(Scalars.create(), "fUint32", [300, 1]), (m) => Scalars.toBinary(m as Scalars), /sgtest\.Scalars: the value changed/],
    ["an array that gains an element", () => {
      const a = [1, 2];
      let n = 0;
      return new Proxy(Everything.create(), { get(t, p, r) { if (p === "rInt32" && n++ === 1) a.push(3); return p === "rInt32" ? a : Reflect.get(t, p, r); } });
    }, (m) => Everything.toBinary(m as Everything), /Everything\.rInt32: the value changed/],
    ["a map that gains a key", () => {
      const o: Record<string, number> = { a: 1 };
      let n = 0;
      return new Proxy(Everything.create(), { get(t, p, r) { if (p === "mStringInt32" && n++ === 1) o.b = 2; return p === "mStringInt32" ? o : Reflect.get(t, p, r); } });
    }, (m) => Everything.toBinary(m as Everything), /Everything(\.mStringInt32\["b"\])?: the value changed/],
    ["a nested message's string", () => Everything.create({ rNested: [nested({ a: 1 }), volatile(nested({}), "a", [1, 1 << 20])] }), (m) => Everything.toBinary(m as Everything), /Everything\.rNested\[1\]: the value changed/],
    ["a bytes field that grows past the copy threshold", () => volatile(Scalars.create(), "fBytes", [new Uint8Array(10), new Uint8Array(5000)]), (m) => Scalars.encode(m as Scalars, { copyThreshold: 100 }), /Scalars: the value changed/],
  ];
  for (const [name, make, run, re] of cases) {
    it(name, () => throwsEncode(() => run(make()), re));
  }

  it("leaves a reused list empty after a failed encode (no stale bytes handed out)", () => {
    const list = new SgList();
    Scalars.encode({ ...Scalars.create(), fString: "old secret" }, { into: list });
    throwsEncode(() => Scalars.encode(volatile(Scalars.create(), "fString", ["ab", "abcd"]), { into: list }), /changed/);
    assert.equal(list.byteLength, 0);
    assert.equal(list.segmentCount, 0);
  });

  it("any sequence of values: the encode fails, or its list is exactly what a fresh encode of some value gives (fixed seed)", () => {
    const value = fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom("", "é", "日本語", "\ud800"));
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 64 }), (strs, nums, thr) => {
        const m = volatile(volatile(Everything.create({ rNested: [Nested.create({ payload: new Uint8Array(thr) })] }), "optString", strs), "optInt32", nums);
        let list: SgList;
        try {
          list = Everything.encode(m, { copyThreshold: thr || 1 });
        } catch (e) {
          assert.ok(e instanceof EncodeError, String(e));
          assert.match(e.message, /changed/);
          return;
        }
        let total = 0;
        for (const s of list.segments) total += s.length;
        assert.equal(total, list.byteLength);
        const back = Everything.fromBinary(list.toBinary());
        const sent = strs.map((x) => new TextDecoder().decode(enc.encode(x))); // lone surrogates go out as U+FFFD
        assert.ok(back.optString === undefined || sent.includes(back.optString), JSON.stringify(back.optString));
      }),
      { seed: 1101, numRuns: 300 },
    );
  });
});

describe("every wrong value is an EncodeError with the field path", () => {
  const S = (over: Record<string, unknown>) => ({ ...Scalars.create(), ...over }) as Scalars;
  const E = (over: Record<string, unknown>) => ({ ...Everything.create(), ...over }) as Everything;
  const cases: [string, () => unknown, RegExp][] = [
    ["a bigint in an int32 field", () => Scalars.toBinary(S({ fInt32: 5n })), /sgtest\.Scalars\.fInt32: expected an int32 number, got bigint 5n/],
    ["a bigint in a uint32 field", () => Scalars.toBinary(S({ fUint32: 5n })), /fUint32: expected a uint32 number, got bigint 5n/],
    ["a bigint in a sint32 field", () => Scalars.toBinary(S({ fSint32: 5n })), /fSint32: expected an int32 number/],
    ["a bigint in a fixed32 field", () => Scalars.toBinary(S({ fFixed32: 5n })), /fFixed32: expected a uint32 number/],
    ["a bigint in an enum field", () => Scalars.toBinary(S({ fColor: 1n })), /fColor: expected an enum number \(int32\), got bigint 1n/],
    ["a bigint in a repeated enum", () => Everything.toBinary(E({ rColor: [1, 2n] })), /rColor\[1\]: expected an enum number/],
    ["a JS Map for a map field", () => Everything.toBinary(E({ mStringInt32: new Map([["a", 1]]) })), /mStringInt32: expected a plain object \(map field/],
    ["an array for a map field", () => Everything.toBinary(E({ mStringInt32: [1, 2] })), /mStringInt32: expected a plain object.*got array\(2\)/],
    ["an array for a message field", () => Everything.toBinary(E({ nested: [1] })), /Everything\.nested: expected a sgtest\.Everything\.Nested message object, got array\(1\)/],
    ["a string for a oneof", () => Everything.toBinary(E({ choice: "cInt32" })), /Everything\.choice: expected a oneof object/],
    ["an array for a oneof", () => Everything.toBinary(E({ choice: [] })), /Everything\.choice: expected a oneof object/],
    ["a detached Uint8Array as bytes", () => { const b = new Uint8Array(8); detach(b); return Scalars.toBinary(S({ fBytes: b })); }, /fBytes: expected a Uint8Array \(not detached/],
    ["a detached Uint8Array in a repeated bytes", () => { const b = new Uint8Array(8); detach(b); return Everything.toBinary(E({ rBytes: [new Uint8Array(1), b] })); }, /rBytes\[1\]: expected a Uint8Array \(not detached/],
    ["$unknown that is not an array", () => Scalars.toBinary(S({ $unknown: new Uint8Array([8, 1]) })), /Scalars\.\$unknown: expected an array of Uint8Array/],
    ["$unknown holding a string", () => Scalars.toBinary(S({ $unknown: ["x"] })), /\$unknown\[0\]: expected a Uint8Array of raw fields/],
    ["$unknown with a truncated varint", () => Scalars.toBinary(S({ $unknown: [new Uint8Array([0xf8, 0x07, 0x80])] })), /\$unknown\[0\]: not well-formed protobuf fields/],
    ["$unknown with wire type 7", () => Scalars.toBinary(S({ $unknown: [new Uint8Array([0xff, 0x07])] })), /\$unknown\[0\]: not well-formed/],
    ["$unknown with a length past its end", () => Scalars.toBinary(S({ $unknown: [new Uint8Array([0xfa, 0x07, 5, 1])] })), /\$unknown\[0\]: not well-formed/],
    ["$unknown with an unterminated group", () => Scalars.toBinary(S({ $unknown: [new Uint8Array([0xfb, 0x07, 8, 1])] })), /\$unknown\[0\]: not well-formed/],
    ["$unknown with a field number 0", () => Scalars.toBinary(S({ $unknown: [new Uint8Array([0, 1])] })), /\$unknown\[0\]: not well-formed/],
  ];
  for (const k of ["0x10", " 7", "7 ", "1e3", "1.0", "+5", "-0", "007", "", "4294967296", "-1"]) {
    cases.push([`map<uint32, …> key ${JSON.stringify(k)}`, () => Everything.toBinary(E({ mUint32Color: { [k]: 1 } })), new RegExp(`mUint32Color\\[${JSON.stringify(k).replace(/[.+]/g, "\\$&")}\\]: expected a uint32 map key in decimal`)]);
  }
  for (const k of ["0x10", " 7", "1e3", "+5", "-0", "9223372036854775808"]) {
    cases.push([`map<int64, …> key ${JSON.stringify(k)}`, () => Everything.toBinary(E({ mInt64Nested: { [k]: Nested.create() } })), /mInt64Nested\[".*"\]: expected (an int64 map key in decimal|a bigint in the int64 range)/]);
  }
  for (const [name, run, re] of cases) it(`rejects ${name}`, () => throwsEncode(run, re));

  it("accepts the keys decoding produces, negative and zero included", () => {
    const m = E({ mInt32String: { "-5": "a", "0": "b", "2147483647": "c" }, mInt64Nested: { "-9223372036854775808": Nested.create() } });
    const back = Everything.fromBinary(Everything.toBinary(m));
    assert.deepEqual(Object.keys(back.mInt32String).sort(), ["-5", "0", "2147483647"]);
    assert.deepEqual(Object.keys(back.mInt64Nested), ["-9223372036854775808"]);
  });

  it("accepts well-formed $unknown fields and writes them as given", () => {
    const raw = new Uint8Array([0xf8, 0x07, 0x96, 0x01, 0xfb, 0x07, 0x08, 0x01, 0xfc, 0x07]);
    const out = Scalars.toBinary(S({ $unknown: [raw] }));
    assert.deepEqual(Array.from(out), Array.from(raw));
  });

  it("a bytes field past 2 GiB - 1 is refused, not written with a wrong length", () => {
    const huge = new Uint8Array(2 ** 31); // calloc'd: its pages are never touched
    throwsEncode(() => Scalars.encodedSize(S({ fBytes: huge })), /fBytes: expected a Uint8Array \(not detached, at most 2 GiB - 1 bytes\), got Uint8Array\(2147483648\)/);
  });

  it("a nested message past 2 GiB - 1 is refused, naming it", () => {
    const big = new Uint8Array(2 ** 30 + 2 ** 29); // 1.5 GiB, twice
    const m = E({ nested: { ...Nested.create(), payload: big, child: { ...Nested.create(), payload: big } } });
    throwsEncode(() => Everything.encode(m), /sgtest\.Everything\.nested: encodes to \d+ bytes, past protobuf's limit of 2147483647/);
  });

  it("a message past 2 GiB - 1 is refused", () => {
    const big = new Uint8Array(2 ** 30 + 2 ** 29);
    throwsEncode(() => Everything.encodedSize(E({ optBytes: big, rBytes: [big] })), /^sgtest\.Everything: encodes to \d+ bytes, past protobuf's limit/);
  });
});
