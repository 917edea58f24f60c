/**
 * protobufjs: reflection types loaded from bench.proto at run time (its generated-code path
 * compiles the same encoder/decoder functions). Messages are made with `fromObject` outside the
 * timed loop; encode is `encode(m).finish()` (one new buffer), decode is `decode(buffer)`.
 */
import protobuf from "protobufjs";
import type { Workload } from "../shapes.js";
import { packageVersion, received, type LibCase, type Peer } from "./peer.js";

export const PROTO_PATH = new URL("../../schemas/bench.proto", import.meta.url).pathname;

let root: protobuf.Root | undefined;
/** bench.proto, parsed and resolved by protobufjs (shared with the @bufbuild/protobuf peer). */
export function protobufjsRoot(): protobuf.Root {
  if (root === undefined) {
    root = new protobuf.Root();
    root.loadSync(PROTO_PATH);
    root.resolveAll();
  }
  return root;
}


export const protobufjsPeer: Peer = {
  name: "protobufjs",
  version: packageVersion("protobufjs"),
  cases(w: Workload): LibCase[] {
    const T = protobufjsRoot().lookupType(`bench.${w.type}`);
    const msg = T.fromObject(w.message);
    const wire = T.encode(msg).finish();
    const input = received(wire);
    return [
      { lib: "protobufjs", op: "encode", run: () => T.encode(msg).finish(), bytesCopied: wire.length, segments: 1, wireBytes: wire.length, wire },
      { lib: "protobufjs", op: "decode", run: () => T.decode(input), decoded: () => T.decode(input) },
    ];
  },
};
