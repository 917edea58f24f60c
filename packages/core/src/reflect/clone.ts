import type { MessageType } from "../codec/message.js";
import type { ExtensionField } from "./extension.js";
import type { FieldInfo, MapValueInfo } from "./types.js";
import { checkMessage, checkType, isStackOverflow, type AnyMessageType, type Obj } from "./util.js";

/** Options of `clone`. */
export interface CloneOptions {
  /**
   * Copy bytes fields and unknown fields into memory of the clone's own (default true). A decoded
   * message's bytes are views of the buffer it was decoded from; a clone made with `false` shares
   * them (and sees any change to that buffer), which is cheaper for large payloads.
   */
  copyBytes?: boolean;
}

/**
 * A deep copy of `msg`, through reflection (`type.fields`): a new message for every nested
 * message, new arrays for repeated fields, new maps (objects without a prototype, as decoding
 * creates them), new `{ case, value }` objects for oneofs, a new `$unknown` list, new extension
 * entries (`$extensions`, values copied by their field's kind) and (unless `{ copyBytes: false }`)
 * new Uint8Arrays for bytes fields, unknown fields and undecoded extension fields. The clone encodes
 * to exactly the bytes the original does. Properties that are not fields of the type are not
 * copied.
 *
 * Throws a TypeError for a type without reflection data or a value of the wrong shape (naming its
 * path, like `shop.Order.items[2]`), and a RangeError for a message nested too deeply for the
 * stack (or one that contains itself).
 */
export function clone<T>(type: MessageType<T>, msg: T, options?: CloneOptions): T {
  const t = checkType(type, "clone");
  const copyBytes = options?.copyBytes !== false;
  try {
    return cloneMessage(t, msg, copyBytes, t.typeName) as T;
  } catch (err) {
    if (isStackOverflow(err)) throw new RangeError(`clone: ${t.typeName} nested too deeply to copy (does it contain itself?)`);
    throw err;
  }
}

function cloneMessage(type: AnyMessageType, src: unknown, copyBytes: boolean, path: string): Obj {
  const s = checkMessage(src, type, path);
  const m = type.create() as Obj;
  for (const f of type.fields) {
    if (f.oneof !== undefined) continue;
    const v = s[f.localName];
    if (v === undefined || v === null) continue;
    m[f.localName] = cloneField(f, v, copyBytes, `${path}.${f.localName}`);
  }
  for (const o of type.oneofs) {
    const v = s[o.localName] as { case?: unknown; value?: unknown } | undefined | null;
    if (v == null || v.case === undefined) continue;
    const member = o.fields.find((f) => f.localName === v.case);
    if (member === undefined) {
      throw new TypeError(`${path}.${o.localName}.case: ${type.typeName} has no oneof member ${JSON.stringify(v.case)}`);
    }
    m[o.localName] = { case: v.case, value: cloneValue(member, v.value, copyBytes, `${path}.${o.localName}.value`) };
  }
  const u = s.$unknown;
  if (u !== undefined && u !== null) {
    if (!Array.isArray(u)) throw new TypeError(`${path}.$unknown: expected an array of Uint8Array`);
    m.$unknown = u.map((raw: unknown, i) => cloneBytes(raw, copyBytes, `${path}.$unknown[${i}]`));
  }
  const x = s.$extensions;
  if (x !== undefined && x !== null) {
    if (!Array.isArray(x)) throw new TypeError(`${path}.$extensions: expected an array of extension fields`);
    m.$extensions = (x as ExtensionField[]).map((e, i) => cloneExtension(e, copyBytes, `${path}.$extensions[${i}]`));
  }
  return m;
}

/** One extension field: raw fields copied (unless copyBytes is false), a value deep-copied by its field's kind. */
function cloneExtension(e: ExtensionField, copyBytes: boolean, path: string): ExtensionField {
  if (typeof e !== "object" || e === null) throw new TypeError(`${path}: expected an extension field ({ no, raw, ext, value })`);
  const raw = e.raw === undefined ? undefined : e.raw.map((b, j) => cloneBytes(b, copyBytes, `${path}.raw[${j}]`) as Uint8Array);
  const value = e.ext === undefined || e.value === undefined ? e.value : cloneField(e.ext.field, e.value, copyBytes, `${path}[${e.ext.typeName}]`);
  return { no: e.no, raw, ext: e.ext, value };
}

function cloneField(f: FieldInfo, v: unknown, copyBytes: boolean, path: string): unknown {
  if (f.kind === "map") {
    if (typeof v !== "object" || Array.isArray(v) || v instanceof Map) throw new TypeError(`${path}: expected a map object (keys as strings)`);
    const out = Object.create(null) as Obj;
    for (const k of Object.keys(v as Obj)) out[k] = cloneValue(f.value, (v as Obj)[k], copyBytes, `${path}[${JSON.stringify(k)}]`);
    return out;
  }
  if (f.repeated) {
    if (!Array.isArray(v)) throw new TypeError(`${path}: expected an array`);
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = cloneValue(f, v[i], copyBytes, `${path}[${i}]`);
    return out;
  }
  return cloneValue(f, v, copyBytes, path);
}

function cloneValue(f: FieldInfo | MapValueInfo, v: unknown, copyBytes: boolean, path: string): unknown {
  if (f.kind === "message") return cloneMessage(f.message, v, copyBytes, path);
  if (f.kind === "scalar" && f.scalar === "bytes") return cloneBytes(v, copyBytes, path);
  return v;
}

function cloneBytes(v: unknown, copyBytes: boolean, path: string): unknown {
  if (!copyBytes) return v;
  if (!(v instanceof Uint8Array)) throw new TypeError(`${path}: expected a Uint8Array, got ${v === null ? "null" : typeof v}`);
  // not v.slice(): a Node Buffer's slice is a view
  return new Uint8Array(v);
}
