/**
 * What the kv server and client need from a serialization library: encode a Request or Response
 * into something a port can send (an SgList), decode one from received bytes, and say how many
 * bytes the encode copied. Every codec uses the generated sgwire interfaces (gen/kv.sg.ts) as its
 * in-memory shape, so the server and client code is the same for all of them.
 */
import { SgList, type CopyPolicy } from "@sgwire/core";
import type { Endpoint, Port } from "@sgwire/nic";
import type { Request, Response } from "../../gen/kv.sg.js";

export type CodecName = "sgwire" | "protobufjs" | "flatbuffers";
export const CODECS: readonly CodecName[] = ["sgwire", "protobufjs", "flatbuffers"];

export interface KvCodec {
  readonly name: CodecName;
  /**
   * True when an encoded message is one buffer the codec filled (the baselines): the port sends
   * it as one segment, but none of its bytes are the application's memory.
   */
  readonly ownsOutput: boolean;
  /**
   * Encodes into `into` (reset first) and returns it. sgwire references large values (they must
   * not change until the send completes: the store never rewrites a lent value); the others
   * return one new buffer per message, which the port sends as a single segment.
   */
  encodeRequest(m: Request, policy: CopyPolicy, into: SgList): SgList;
  encodeResponse(m: Response, policy: CopyPolicy, into: SgList): SgList;
  /** Decodes; bytes fields may be views of `bytes` (valid while `bytes` is). */
  decodeRequest(bytes: Uint8Array): Request;
  decodeResponse(bytes: Uint8Array): Response;
  /** Bytes the last encode into `list` copied (tags, lengths, small fields and, for the baselines, every value byte). */
  copied(list: SgList): number;
  /**
   * sgwire: sends a response the port's fast path, `port.send({ codec, message })`: the port has
   * the encoder write the scratch into its own send memory (no copy of it in the port on kernel
   * sockets and ibverbs, one into the mbuf on DPDK). What the encoder wrote is in the port's
   * ledger, `stats.copies.encoder`. Absent: the server encodes into a list and sends that.
   */
  sendResponse?(port: Port, m: Response, to: Endpoint): boolean;
}

/**
 * Makes `list` the single segment `buf`: a buffer a baseline library produced. It is presented as
 * a referenced segment so the port sends it as it is (for kernel sockets, no second copy in user
 * space; DPDK copies it into a packet buffer because it is not registered memory, which is what
 * the copying baselines of Cornflakes' evaluation do as well).
 */
export function oneSegment(list: SgList, buf: Uint8Array): SgList {
  list.reset();
  list.segments.push(buf);
  list.byteLength = buf.length;
  list.bytesReferenced = buf.length;
  list.referenceCount = 1;
  return list;
}

/** Loads one codec by name (the baselines are imported only when chosen). */
export async function loadCodec(name: string): Promise<KvCodec> {
  switch (name) {
    case "sgwire":
      return (await import("./sgwire.js")).sgwireCodec;
    case "protobufjs":
      return (await import("./protobufjs.js")).protobufjsCodec;
    case "flatbuffers":
      return (await import("./flatbuffers.js")).flatbuffersCodec;
    default:
      throw new TypeError(`kv: unknown codec "${name}" (known: ${CODECS.join(", ")})`);
  }
}
