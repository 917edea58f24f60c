import assert from "node:assert/strict";
import {
  varint32Size, varint64Size, int64Size, sint64Size, writeVarint32, writeVarint64, zigzag32, unzigzag32, zigzag64,
  unzigzag64, splitBigint, joinSigned, joinUnsigned, utf8Length, utf8Write, utf8Read, Reader, DecodeError,
  Encoder,
} from "@sgwire/core";

describe("varint arithmetic", () => {
  it("sizes 32-bit values at every byte boundary", () => {
    const cases: [number, number][] = [[0, 1], [127, 1], [128, 2], [16383, 2], [16384, 3], [2097151, 3], [2097152, 4], [268435455, 4], [268435456, 5], [0xffffffff, 5]];
    for (const [v, n] of cases) assert.equal(varint32Size(v), n, `varint32Size(${v})`);
  });

  it("sizes 64-bit values like the bytes it writes", () => {
    const values = [0n, 1n, 127n, 128n, 0xffffffffn, 0x100000000n, (1n << 35n) - 1n, 1n << 35n, (1n << 63n) - 1n, -1n, -(1n << 63n)];
    for (const v of values) {
      const [lo, hi] = splitBigint(v);
      const buf = new Uint8Array(10);
      const end = writeVarint64(buf, 0, lo, hi);
      assert.equal(end, varint64Size(lo, hi), `size of ${v}`);
      assert.equal(int64Size(v), end, `int64Size(${v})`);
      const r = new Reader(buf.subarray(0, end));
      assert.equal(r.int64(), BigInt.asIntN(64, v));
    }
  });

  it("zigzags 32 and 64-bit values both ways", () => {
    for (const v of [0, -1, 1, -2, 2147483647, -2147483648]) assert.equal(unzigzag32(zigzag32(v)), v);
    assert.equal(zigzag32(-1), 1);
    assert.equal(zigzag32(1), 2);
    for (const v of [0n, -1n, 1n, (1n << 63n) - 1n, -(1n << 63n)]) {
      assert.equal(unzigzag64(zigzag64(v)), v);
      const buf = new Uint8Array(10);
      const z = zigzag64(v);
      const end = writeVarint64(buf, 0, Number(z & 0xffffffffn), Number(z >> 32n));
      assert.equal(sint64Size(v), end);
      assert.equal(new Reader(buf.subarray(0, end)).sint64(), v);
    }
  });

  it("writes 64-bit values through Numbers exactly as through bigints, at every boundary", () => {
    // the Encoder and int64Size take a Number path below 2^53 and a bigint path above: both must
    // give the bytes of the two's complement (int64, fixed64) or zigzag (sint64) value
    const edges: bigint[] = [];
    for (const base of [0n, 1n << 31n, 1n << 32n, 1n << 52n, 1n << 53n, 1n << 63n]) {
      for (let d = -3n; d <= 3n; d++) edges.push(base + d, -(base + d));
    }
    const values = edges.filter((v) => v >= -(1n << 63n) && v < 1n << 63n);
    const reference = (u: bigint): number[] => {
      const out: number[] = [];
      u = BigInt.asUintN(64, u);
      while (u > 0x7fn) { out.push(Number(u & 0x7fn) | 0x80); u >>= 7n; }
      out.push(Number(u));
      return out;
    };
    const e = new Encoder();
    const run = (write: () => void): number[] => {
      const buf = new Uint8Array(16);
      e.begin(null);
      e.startWrite(buf, null);
      write();
      return [...buf.subarray(0, e.pos)];
    };
    for (const v of values) {
      assert.deepEqual(run(() => e.int64(v)), reference(v), `int64 ${v}`);
      assert.equal(int64Size(v), reference(v).length, `int64Size ${v}`);
      const z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
      assert.deepEqual(run(() => e.sint64(v)), reference(z), `sint64 ${v}`);
      assert.equal(sint64Size(v), reference(z).length, `sint64Size ${v}`);
      const fixed = [...new Uint8Array(BigInt64Array.of(v).buffer)];
      assert.deepEqual(run(() => e.fixed64(v)), fixed, `fixed64 ${v}`);
    }
    // uint64 values past int64's range take the bigint path
    for (const v of [(1n << 63n) + 5n, (1n << 64n) - 1n]) {
      assert.deepEqual(run(() => e.int64(v)), reference(v), `uint64 ${v}`);
      assert.equal(int64Size(v), 10);
    }
  });

  it("joins halves into signed and unsigned bigints", () => {
    assert.equal(joinUnsigned(0xffffffff, 0xffffffff), (1n << 64n) - 1n);
    assert.equal(joinSigned(0xffffffff, 0xffffffff), -1n);
    assert.equal(joinSigned(0x80000000, 0xffffffff), -2147483648n);
    assert.equal(joinSigned(5, 1), (1n << 32n) + 5n);
  });

  it("reads negative int32 written as 10-byte varints", () => {
    const buf = new Uint8Array(10);
    const end = writeVarint64(buf, 0, -5 >>> 0, 0xffffffff);
    assert.equal(end, 10);
    assert.equal(new Reader(buf).int32(), -5);
    const small = new Uint8Array(5);
    assert.equal(writeVarint32(small, 0, 300), 2);
    assert.deepEqual([...small.subarray(0, 2)], [0xac, 0x02]);
  });
});

describe("UTF-8", () => {
  const samples = ["", "ascii", "héllo", "日本語", "emoji 🌍🎉", "x".repeat(100) + "ü", "\u0000\u007f\u0080\u07ff\u0800\uffff"];
  it("measures and writes exactly what TextEncoder does", () => {
    for (const s of samples) {
      const want = new TextEncoder().encode(s);
      assert.equal(utf8Length(s), want.length, JSON.stringify(s));
      const buf = new Uint8Array(want.length);
      assert.equal(utf8Write(buf, 0, s), want.length);
      assert.deepEqual(buf, want);
      assert.equal(utf8Read(buf, 0, buf.length, true), s);
    }
  });

  it("writes lone surrogates as U+FFFD in 3 bytes", () => {
    for (const s of ["a\ud800b", "\udc00", "x".repeat(70) + "\ud83d"]) {
      const n = utf8Length(s);
      const buf = new Uint8Array(n);
      assert.equal(utf8Write(buf, 0, s), n);
      assert.deepEqual(buf, new TextEncoder().encode(s));
    }
  });

  it("reads any run of a view at an offset: short ASCII, non-ASCII and long, strict or not", () => {
    const texts = ["", "a", "login.ok.7", "x".repeat(31), "y".repeat(32), "Zoë", "名前-" + "z".repeat(30), "\u007f\u0000"];
    for (const t of texts) {
      const bytes = new TextEncoder().encode(t);
      // a Uint8Array view in the middle of a larger buffer, and a Node Buffer view
      const big = new Uint8Array(bytes.length + 10).fill(0xff);
      big.set(bytes, 5);
      const view = big.subarray(2, 2 + bytes.length + 6);
      for (const v of [view, Buffer.from(view.buffer, view.byteOffset, view.length)]) {
        assert.equal(utf8Read(v, 3, 3 + bytes.length, true), t, JSON.stringify(t));
        assert.equal(utf8Read(v, 3, 3 + bytes.length, false), t, JSON.stringify(t));
      }
    }
    // a short invalid run after ASCII: rejected when strict, U+FFFD otherwise
    const b = Uint8Array.of(0x61, 0x62, 0xc0);
    assert.throws(() => utf8Read(b, 0, 3, true), TypeError);
    assert.equal(utf8Read(b, 0, 3, false), "ab\ufffd");
  });

  it("rejects invalid UTF-8 only when asked to", () => {
    const bad = [Uint8Array.of(0xff), Uint8Array.of(0xc0, 0x80), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0xe2, 0x82)];
    for (const b of bad) {
      assert.throws(() => utf8Read(b, 0, b.length, true), TypeError);
      assert.match(utf8Read(b, 0, b.length, false), /\ufffd/);
    }
  });

  it("accepts a real U+FFFD in strict mode, and rejects an invalid byte beside one", () => {
    const real = new TextEncoder().encode("ok \ufffd done");
    assert.equal(utf8Read(real, 0, real.length, true), "ok \ufffd done");
    const mixed = Uint8Array.of(...real, 0xc0);
    assert.throws(() => utf8Read(mixed, 0, mixed.length, true), TypeError);
    assert.equal(utf8Read(mixed, 0, mixed.length, false), "ok \ufffd done\ufffd");
    // every random byte string: lenient output equals TextDecoder's, strict throws exactly when
    // TextDecoder's fatal mode does (fixed seed)
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
    const lenient = new TextDecoder("utf-8", { ignoreBOM: true });
    const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    const hot = [0x41, 0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
    for (let i = 0; i < 20000; i++) {
      const b = new Uint8Array(1 + (rnd() % 40));
      for (let j = 0; j < b.length; j++) b[j] = rnd() % 2 === 0 ? hot[rnd() % hot.length]! : rnd() % 256;
      assert.equal(utf8Read(b, 0, b.length, false), lenient.decode(b));
      let valid = true;
      try { fatal.decode(b); } catch { valid = false; }
      if (valid) assert.equal(utf8Read(b, 0, b.length, true), lenient.decode(b));
      else assert.throws(() => utf8Read(b, 0, b.length, true), TypeError);
    }
  });
});

describe("Reader", () => {
  it("returns views of the input for bytes, not copies", () => {
    const buf = Uint8Array.of(3, 1, 2, 3, 9);
    const r = new Reader(buf);
    const v = r.bytes();
    assert.equal(v.buffer, buf.buffer);
    assert.equal(v.byteOffset, 1);
    assert.equal(v.length, 3);
    buf[1] = 42;
    assert.equal(v[0], 42, "a view sees later changes to the input");
  });

  const bad: [string, number[], (r: Reader) => unknown, RegExp][] = [
    ["truncated varint", [0x80], (r) => r.uint32(), /truncated varint at offset 0/],
    ["overlong varint", [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], (r) => r.uint32(), /longer than 10 bytes/],
    ["overlong 64-bit varint", [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], (r) => r.uint64(), /longer than 10 bytes/],
    ["field number 0", [0x00], (r) => r.tag(), /invalid field number 0 at offset 0/],
    ["wire type 6", [0x0e], (r) => r.tag(), /invalid wire type 6 \(field 1\)/],
    ["wire type 7", [0x0f], (r) => r.tag(), /invalid wire type 7/],
    ["tag over 5 bytes", [0x88, 0x80, 0x80, 0x80, 0x80, 0x00], (r) => r.tag(), /tag/],
    ["length past the end", [0x05, 0x01], (r) => r.bytes(), /runs past the end of the input \(1 bytes left\)/],
    ["truncated fixed32", [0x01, 0x02], (r) => r.fixed32(), /truncated 4-byte field/],
    ["truncated double", [0, 0, 0, 0], (r) => r.double(), /truncated 8-byte field/],
    ["invalid UTF-8", [0x01, 0xff], (r) => r.string(true), /invalid UTF-8 in string field at offset 1/],
    ["unterminated group", [0x0b, 0x08, 0x01], (r) => r.skip(r.tag()), /unterminated group \(field 1\)/],
    ["mismatched END_GROUP", [0x0b, 0x14], (r) => r.skip(r.tag()), /END_GROUP for field 2 inside group 1/],
    ["stray END_GROUP", [0x0c], (r) => r.skip(r.tag()), /unexpected END_GROUP/],
  ];
  for (const [name, bytes, read, re] of bad) {
    it(`rejects ${name}`, () => {
      const r = new Reader(Uint8Array.from(bytes));
      assert.throws(() => read(r), (e: unknown) => e instanceof DecodeError && re.test(e.message));
    });
  }

  it("limits group nesting depth", () => {
    const depth = 150;
    const bytes = [...Array(depth).fill(0x0b), ...Array(depth).fill(0x0c)];
    const r = new Reader(Uint8Array.from(bytes), { maxDepth: 100 });
    assert.throws(() => r.skip(r.tag()), /nesting deeper than 100/);
    const ok = new Reader(Uint8Array.from(bytes), { maxDepth: 200 });
    ok.skip(ok.tag());
    assert.equal(ok.pos, bytes.length);
  });

  it("reads bools as full 64-bit varints", () => {
    assert.equal(new Reader(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)).bool(), true);
    assert.equal(new Reader(Uint8Array.of(0x80, 0x00)).bool(), false);
    // one-byte values, any non-zero one true; the reader stops after the byte
    for (const [b, want] of [[0, false], [1, true], [2, true], [0x7f, true]] as const) {
      const r = new Reader(Uint8Array.of(b, 0x55));
      assert.equal(r.bool(), want);
      assert.equal(r.pos, 1);
    }
    // a truncated bool is an error, not false
    const t = new Reader(Uint8Array.of(0x80));
    assert.throws(() => t.bool(), DecodeError);
    const empty = new Reader(Uint8Array.of(1));
    empty.end = 0;
    assert.throws(() => empty.bool(), DecodeError);
  });
});
