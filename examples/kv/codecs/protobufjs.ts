/**
 * protobufjs, the baseline: reflection types loaded from the same kv.proto. `encode().finish()`
 * writes every field, values included, into one new buffer (protobufjs 8 copies bytes fields as
 * it goes), so each response costs a copy of its values. Decode returns bytes fields as views.
 */
import protobuf from "protobufjs";
import type { SgList } from "@sgwire/core";
import type { Request, Response } from "../../gen/kv.sg.js";
import { oneSegment, type KvCodec } from "./codec.js";

const PROTO = new URL("../../schemas/kv.proto", import.meta.url).pathname;
const root = new protobuf.Root();
root.loadSync(PROTO);
root.resolveAll();
const Req = root.lookupType("kv.Request");
const Resp = root.lookupType("kv.Response");

export const protobufjsCodec: KvCodec = {
  name: "protobufjs",
  ownsOutput: true,
  // plain objects with protobufjs' camelCase names are what encode() takes (no fromObject needed)
  encodeRequest: (m, _policy, into: SgList) => oneSegment(into, Req.encode(m as never).finish()),
  encodeResponse: (m, _policy, into: SgList) => oneSegment(into, Resp.encode(m as never).finish()),
  // decoded messages keep absent fields' defaults on their prototype: read each field once into
  // the plain shape the server and client use (what the sgwire decoder returns)
  decodeRequest: (bytes): Request => {
    const m = Req.decode(bytes) as unknown as Request;
    return { id: m.id, op: m.op, keys: m.keys, value: m.value, valueSize: m.valueSize, valueOffset: m.valueOffset };
  },
  decodeResponse: (bytes): Response => {
    const m = Resp.decode(bytes) as unknown as Response;
    return { id: m.id, status: m.status, values: m.values, missing: m.missing, part: m.part, parts: m.parts, firstIndex: m.firstIndex, firstOffset: m.firstOffset, sizes: m.sizes };
  },
  copied: (list) => list.byteLength,
};
