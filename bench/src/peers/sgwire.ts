/**
 * sgwire: the generated codecs of bench.proto. `encode` reuses one SgList per workload (`into`),
 * the steady state of a sender; `encode (fresh)` (the mixed suite) makes a new list per message,
 * as `codec.encode(msg)` without options does; `toBinary` returns one new buffer; `fromBinary`
 * decodes with bytes fields as views of the input.
 */
import { SgList, type MessageType } from "@sgwire/core";
import * as generated from "../generated/bench.sg.js";
import type { Workload } from "../shapes.js";
import { received, type LibCase, type Peer } from "./peer.js";

export function sgwireCodec(type: Workload["type"]): MessageType<object> {
  return (generated as unknown as Record<string, MessageType<object>>)[type]!;
}

export const sgwirePeer: Peer = {
  name: "sgwire",
  version: "workspace",
  cases(w: Workload): LibCase[] {
    const codec = sgwireCodec(w.type);
    const msg = w.message;
    const list = new SgList();
    const enc = codec.encode(msg, { into: list });
    const once = { bytesCopied: enc.bytesCopied, segments: enc.segments.length, wireBytes: enc.byteLength };
    const wire = codec.toBinary(msg);
    const input = received(wire);
    const fresh: LibCase[] =
      w.shape === "mixed" ? [{ lib: "sgwire encode (fresh)", op: "encode", run: () => codec.encode(msg), ...once, wire: codec.encode(msg).toBinary() }] : [];
    return [
      { lib: "sgwire encode", op: "encode", run: () => codec.encode(msg, { into: list }), ...once, wire: enc.toBinary() },
      ...fresh,
      { lib: "sgwire toBinary", op: "encode", run: () => codec.toBinary(msg), bytesCopied: wire.length, segments: 1, wireBytes: wire.length, wire },
      { lib: "sgwire fromBinary", op: "decode", run: () => codec.fromBinary(input), decoded: () => codec.fromBinary(input) },
    ];
  },
};
