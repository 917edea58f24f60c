/**
 * flatbuffers (npm, TypeScript runtime) with the hand-written tables of flatbuffers-tables.ts.
 * Encode reuses one Builder per workload (`clear()`, build, `finish()`, `asUint8Array()`, a view
 * of the builder's buffer): its steady state, where byte vectors are copied into the buffer.
 * Decode wraps the bytes in a ByteBuffer and reads every field once.
 */
import * as fb from "flatbuffers";
import type { Workload } from "../shapes.js";
import * as t from "./flatbuffers-tables.js";
import { packageVersion, received, type LibCase, type Peer } from "./peer.js";

interface Table {
  build(b: fb.Builder, m: never): number;
  read(bb: fb.ByteBuffer): unknown;
}

/** The shapes flatbuffers has tables for (the mixed suite is protobuf's: maps, oneofs, int64). */
const TABLES: Partial<Record<Workload["type"], Table>> = {
  Small: { build: t.buildSmall, read: t.readSmall },
  Blob: { build: t.buildBlob, read: t.readBlob },
  List: { build: t.buildList, read: t.readList },
  Node: { build: t.buildNode, read: t.readNode },
  Record: { build: t.buildRecord, read: t.readRecord },
};

export const flatbuffersPeer: Peer = {
  name: "flatbuffers",
  version: packageVersion("flatbuffers"),
  cases(w: Workload): LibCase[] {
    const table = TABLES[w.type];
    if (table === undefined) return [];
    const { build, read } = table;
    const msg = w.message as never;
    const b = new fb.Builder(1024);
    const encode = (): Uint8Array => {
      b.clear();
      b.finish(build(b, msg));
      return b.asUint8Array();
    };
    const wire = encode().slice();
    const input = received(wire);
    const decode = () => read(new fb.ByteBuffer(input));
    return [
      { lib: "flatbuffers", op: "encode", run: encode, bytesCopied: wire.length, segments: 1, wireBytes: wire.length },
      { lib: "flatbuffers", op: "decode", run: decode, decoded: decode },
    ];
  },
};
