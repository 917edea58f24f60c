/**
 * The workloads of the codec suite: one message per shape and size, as a plain object in
 * sgwire's generated shape (numbers, strings, Uint8Arrays, arrays, nested plain objects). Each
 * peer converts it once, outside the timed loop, into its own message representation.
 *
 * Shapes (bench/schemas/bench.proto):
 * - small:   `Small`, eight scalar fields, nothing to reference;
 * - bytes:   `Blob`, a uint32, a 16 B key and one bytes value of 16 B .. 1 MiB;
 * - list:    `List`, 1..32 values of 1..8 KiB (a multi-get response);
 * - tree:    `Node`, a tree of nested messages (fan-out 4, depth 3: 21 nodes), leaves carry a
 *            payload;
 * - strings: `Record`, strings only (ASCII and not), always copied;
 * - mixed:   messages as services exchange them: `Event` (a string, an enum, packed sint32, a
 *            bool, a float, a uint32: about 25 B), `Profile` (a string map, strings, repeated
 *            strings, packed int32, doubles, two int64, nested messages with 100 B of bytes, an
 *            enum, a oneof: about 440 B) and `Batch` (20 events).
 */

export type ShapeName = "small" | "bytes" | "list" | "tree" | "strings" | "mixed";

export interface Workload {
  shape: ShapeName;
  /** unique and stable: "bytes/65536", "list/8x1024" */
  id: string;
  /** for tables: "bytes 64 KiB" */
  label: string;
  /** message type in bench.proto */
  type: "Small" | "Blob" | "List" | "Node" | "Record" | "Event" | "Profile" | "Batch";
  message: object;
  /** bytes in bytes fields (the x axis of the size plot) */
  payloadBytes: number;
  /** number of values (the x axis of the fields plot); 1 for shapes without a list */
  count: number;
  /** size of the value (bytes) or of one list value (list) */
  valueBytes?: number;
}

export interface Grid {
  bytesSizes: number[];
  listCounts: number[];
  listValueSizes: number[];
  treeLeafSizes: number[];
}

export const QUICK_GRID: Grid = {
  bytesSizes: [16, 256, 4096, 65536, 1 << 20],
  listCounts: [1, 4, 16, 32],
  listValueSizes: [1024, 8192],
  treeLeafSizes: [64, 1024],
};

export const FULL_GRID: Grid = {
  bytesSizes: [16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1 << 20],
  listCounts: [1, 2, 4, 8, 16, 32],
  listValueSizes: [1024, 4096, 8192],
  treeLeafSizes: [64, 1024],
};

/** Bytes filled with a pattern, in their own ArrayBuffer (as an application's buffers would be). */
export function filled(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

export function sizeLabel(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

function small(): Workload {
  return {
    shape: "small",
    id: "small",
    label: "small (8 scalars)",
    type: "Small",
    message: { id: 123456, count: -42, delta: -7, flags: 0xdeadbeef, ok: true, score: 3.14159, ratio: 0.5, ttl: 3600 },
    payloadBytes: 0,
    count: 1,
  };
}

function blob(size: number): Workload {
  return {
    shape: "bytes",
    id: `bytes/${size}`,
    label: `bytes ${sizeLabel(size)}`,
    type: "Blob",
    message: { id: 42, key: filled(16, 1), value: filled(size, 2) },
    payloadBytes: 16 + size,
    count: 1,
    valueBytes: size,
  };
}

function list(count: number, valueBytes: number): Workload {
  const values: Uint8Array[] = [];
  for (let i = 0; i < count; i++) values.push(filled(valueBytes, i));
  return {
    shape: "list",
    id: `list/${count}x${valueBytes}`,
    label: `list ${count} x ${sizeLabel(valueBytes)}`,
    type: "List",
    message: { id: 7, values },
    payloadBytes: count * valueBytes,
    count,
    valueBytes,
  };
}

const FANOUT = 4;
const DEPTH = 3;

function tree(leafBytes: number): Workload {
  let next = 1;
  let payload = 0;
  const node = (depth: number): object => {
    const id = next++;
    const leaf = depth === DEPTH - 1;
    const children = leaf ? [] : Array.from({ length: FANOUT }, () => node(depth + 1));
    const p = leaf ? filled(leafBytes, id) : filled(8, id);
    payload += p.length;
    return { id, name: `node-${id}`, payload: p, children };
  };
  const message = node(0);
  return {
    shape: "tree",
    id: `tree/${leafBytes}`,
    label: `tree 21 nodes, leaves ${sizeLabel(leafBytes)}`,
    type: "Node",
    message,
    payloadBytes: payload,
    count: next - 1,
  };
}

function strings(): Workload {
  const words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
  const tags = Array.from({ length: 16 }, (_, i) => `${words[i % 8]}-${i}`);
  let description = "";
  while (description.length < 1000) description += "The quick brown fox jumps over the lazy dog. ";
  return {
    shape: "strings",
    id: "strings",
    label: "strings (16 tags, 1 KB text)",
    type: "Record",
    message: {
      id: "6f1c2a4e-93b7-4d55-8e0a-2b9c7d1e5f30",
      name: "Zoë Ångström-Øster 名前",
      email: "zoe.angstrom@example.com",
      tags,
      description,
      version: 17,
    },
    payloadBytes: 0,
    count: tags.length,
  };
}

const STATUS_ACTIVE = 1;

/** One small event: about 25 bytes on the wire. */
function event(i: number): object {
  return { name: `login.ok.${i % 10}`, status: STATUS_ACTIVE, deltas: [3, -1, 12, -40 - i], ok: i % 2 === 0, score: 0.75, seq: 1000 + i };
}

function mixedEvent(): Workload {
  return { shape: "mixed", id: "mixed/event", label: "mixed: event (~25 B)", type: "Event", message: event(7), payloadBytes: 0, count: 1 };
}

function mixedProfile(): Workload {
  return {
    shape: "mixed",
    id: "mixed/profile",
    label: "mixed: profile (~440 B)",
    type: "Profile",
    message: {
      labels: Object.assign(Object.create(null) as Record<string, string>, { team: "storage", region: "eu-west-1", tier: "gold" }),
      id: "u-7f3a9c21",
      name: "Zoë Ångström",
      email: "zoe.angstrom@example.com",
      roles: ["admin", "editor", "billing"],
      scores: [12, 7, 300, 45, 0, 99, 1024, 5],
      lat: 52.3702,
      lon: 4.8952,
      createdAt: 1764672000123n,
      updatedAt: 1764758400456n,
      attachments: [
        { name: "avatar.png", data: filled(100, 1) },
        { name: "cv.pdf", data: filled(100, 2) },
      ],
      status: STATUS_ACTIVE,
      contact: { case: "phone", value: "+31 20 555 0134" },
    },
    payloadBytes: 200,
    count: 1,
  };
}

function mixedBatch(): Workload {
  const events = Array.from({ length: 20 }, (_, i) => event(i));
  return { shape: "mixed", id: "mixed/batch", label: "mixed: batch of 20 events", type: "Batch", message: { events }, payloadBytes: 0, count: 20 };
}

/** Every workload of a grid, in the order they run. */
export function workloads(g: Grid, only?: Set<ShapeName>): Workload[] {
  const out: Workload[] = [];
  const want = (s: ShapeName) => only === undefined || only.has(s);
  if (want("small")) out.push(small());
  if (want("bytes")) for (const s of g.bytesSizes) out.push(blob(s));
  if (want("list")) for (const v of g.listValueSizes) for (const c of g.listCounts) out.push(list(c, v));
  if (want("tree")) for (const l of g.treeLeafSizes) out.push(tree(l));
  if (want("strings")) out.push(strings());
  if (want("mixed")) out.push(mixedEvent(), mixedProfile(), mixedBatch());
  return out;
}
