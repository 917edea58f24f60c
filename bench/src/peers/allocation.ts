/**
 * The allocation floor of the mixed suite: what one output buffer of the message's wire size
 * costs on this machine, measured in the same run as the codecs. `new Uint8Array(n)` is a buffer
 * of its own, as sgwire's toBinary and fresh encode() return (each output owns its ArrayBuffer, so
 * transferring or detaching one never touches another); V8 keeps up to 64 bytes of it on its heap
 * and allocates anything larger outside it. `Buffer.allocUnsafe(n)` is a slice of Node's shared
 * 8 KiB pool, which protobufjs's encode().finish() returns. Not codecs: no bytes are written.
 */
import type { Workload } from "../shapes.js";
import type { LibCase, Peer } from "./peer.js";
import { sgwireCodec } from "./sgwire.js";

export const OWN_BUFFER = "floor: new Uint8Array(n)";
export const POOL_SLICE = "floor: Buffer.allocUnsafe(n)";

export const allocationPeer: Peer = {
  name: "allocation floor",
  version: process.versions.node,
  cases(w: Workload): LibCase[] {
    if (w.shape !== "mixed") return [];
    const n = sgwireCodec(w.type).encodedSize(w.message);
    return [
      { lib: OWN_BUFFER, op: "encode", run: () => new Uint8Array(n) },
      { lib: POOL_SLICE, op: "encode", run: () => Buffer.allocUnsafe(n) },
    ];
  },
};
