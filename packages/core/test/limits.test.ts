import assert from "node:assert/strict";
import {
  defineMessage, readMessage, varint32Size, nestedError, DecodeError, EncodeError, type MessageType,
} from "@sgwire/core";

// A hand-written recursive codec standing in for generated code: message Node { Node child = 1; }
interface Node { child?: Node }
const Node: MessageType<Node> = defineMessage<Node>({
  typeName: "test.Node",
  create: () => ({}),
  size(m, e) {
    if (m.child == null) return 0;
    const i = e.reserve();
    let n: number;
    try { n = Node.$size(m.child, e); } catch (err) { nestedError(err, "child"); }
    e.sizes[i] = n;
    return 1 + varint32Size(n) + n;
  },
  write(m, e) {
    if (m.child == null) return;
    e.byte(10);
    e.uint32(e.nextSize());
    Node.$write(m.child, e);
  },
  read(r, end, group, target) {
    const m = target ?? {};
    r.enter();
    while (r.pos < end) {
      const start = r.pos;
      const t = r.tag();
      if (t === 10) {
        m.child = readMessage(r, Node.$read, m.child);
        continue;
      }
      if ((t & 7) === 4) {
        if (t >>> 3 === group) break;
        r.fail("END_GROUP outside its group", start);
      }
      r.skip(t);
    }
    r.leave();
    return m;
  },
});

/** A Node with `levels` nested children below the root, encoded by hand. */
function nested(levels: number): Uint8Array {
  let body = new Uint8Array(0);
  for (let i = 0; i < levels; i++) {
    const n = body.length;
    const len = n < 128 ? [n] : n < 16384 ? [(n & 0x7f) | 0x80, n >> 7] : [(n & 0x7f) | 0x80, ((n >> 7) & 0x7f) | 0x80, n >> 14];
    const next = new Uint8Array(1 + len.length + n);
    next.set([10, ...len]);
    next.set(body, 1 + len.length);
    body = next;
  }
  return body;
}

function chain(levels: number): Node {
  let m: Node = {};
  for (let i = 0; i < levels; i++) m = { child: m };
  return m;
}

describe("nesting limits", () => {
  it("counts nesting below the root, as protobuf C++ and upb: 100 levels pass, 101 do not", () => {
    assert.doesNotThrow(() => Node.fromBinary(nested(100)));
    assert.throws(() => Node.fromBinary(nested(101)), (e: unknown) => e instanceof DecodeError && /nesting deeper than 100/.test(e.message));
    assert.doesNotThrow(() => Node.fromBinary(nested(3), { maxDepth: 3 }));
    assert.throws(() => Node.fromBinary(nested(4), { maxDepth: 3 }), /nesting deeper than 3/);
    assert.doesNotThrow(() => Node.fromBinary(new Uint8Array(0), { maxDepth: 0 }));
  });

  /** `n` unknown groups (field 3) nested in each other */
  const groups = (n: number) => new Uint8Array(2 * n).fill(0x1b, 0, n).fill(0x1c, n);

  it("counts unknown groups below the root the same way", () => {
    assert.doesNotThrow(() => Node.fromBinary(groups(100)));
    assert.throws(() => Node.fromBinary(groups(101)), /nesting deeper than 100/);
  });

  it("turns a maxDepth beyond the JS stack into a DecodeError, not a RangeError", () => {
    assert.throws(() => Node.fromBinary(groups(1_000_000), { maxDepth: 2_000_000 }), (e: unknown) => e instanceof DecodeError && /too deep for the JavaScript stack/.test(e.message));
  });

  it("rejects a message that contains itself with an EncodeError, not a RangeError", () => {
    const loop: Node = {};
    loop.child = loop;
    for (const f of [() => Node.encode(loop), () => Node.toBinary(loop), () => Node.encodedSize(loop)]) {
      assert.throws(f, (e: unknown) => e instanceof EncodeError && /nested too deeply to encode/.test(e.message) && e.path === "test.Node");
    }
  });

  it("still encodes deep messages the stack can hold", () => {
    const m = chain(1000);
    assert.equal(Node.toBinary(m).length, Node.encodedSize(m));
    assert.deepEqual(Node.fromBinary(Node.toBinary(chain(100))), chain(100));
  });
});
