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


type Plain = Record<string, unknown>;

/** A field value in sgwire's shape as protobufjs' fromObject takes it: int64 as decimal strings. */
function toPbjsValue(f: protobuf.Field, v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => toPbjsValue(f, x));
  if (typeof v === "bigint") return v.toString();
  if (f.resolvedType instanceof protobuf.Type && v !== null && typeof v === "object" && !(v instanceof Uint8Array)) return toPbjsObject(f.resolvedType, v as Plain);
  return v;
}

/**
 * A message in sgwire's shape (the workloads') as protobufjs' fromObject takes it: a oneof's
 * `{ case, value }` becomes the member field, 64-bit integers decimal strings.
 */
export function toPbjsObject(T: protobuf.Type, m: Plain): Plain {
  const out: Plain = {};
  for (const [k, v] of Object.entries(m)) {
    if (T.oneofs?.[k] !== undefined) {
      const o = v as { case?: string; value?: unknown } | undefined;
      if (o?.case !== undefined) out[o.case] = toPbjsValue(T.fields[o.case]!, o.value);
      continue;
    }
    const f = T.fields[k];
    if (f === undefined) continue;
    if (f.map) {
      const entries: Plain = {};
      for (const [mk, mv] of Object.entries(v as Plain)) entries[mk] = toPbjsValue(f, mv);
      out[k] = entries;
    } else out[k] = toPbjsValue(f, v);
  }
  return out;
}

/** What protobufjs decoded, in sgwire's shape for the field check: oneofs as `{ case, value }`. */
export function fromPbjsMessage(T: protobuf.Type, msg: protobuf.Message): Plain {
  const o = T.toObject(msg, { longs: String, enums: Number, defaults: true, oneofs: true }) as Plain;
  const walk = (t: protobuf.Type, x: Plain): Plain => {
    for (const oneof of t.oneofsArray) {
      const c = x[oneof.name] as string | undefined;
      x[oneof.name] = c === undefined ? undefined : { case: c, value: x[c] };
    }
    for (const f of t.fieldsArray) {
      const rt = f.resolvedType;
      if (!(rt instanceof protobuf.Type) || f.map) continue;
      const v = x[f.name];
      if (Array.isArray(v)) x[f.name] = v.map((e) => walk(rt, e as Plain));
      else if (v !== null && typeof v === "object") x[f.name] = walk(rt, v as Plain);
    }
    return x;
  };
  return walk(T, o);
}

export const protobufjsPeer: Peer = {
  name: "protobufjs",
  version: packageVersion("protobufjs"),
  cases(w: Workload): LibCase[] {
    const T = protobufjsRoot().lookupType(`bench.${w.type}`);
    const msg = T.fromObject(toPbjsObject(T, w.message as Plain));
    const wire = T.encode(msg).finish();
    const input = received(wire);
    return [
      { lib: "protobufjs", op: "encode", run: () => T.encode(msg).finish(), bytesCopied: wire.length, segments: 1, wireBytes: wire.length, wire },
      { lib: "protobufjs", op: "decode", run: () => T.decode(input), decoded: () => fromPbjsMessage(T, T.decode(input)) },
    ];
  },
};
