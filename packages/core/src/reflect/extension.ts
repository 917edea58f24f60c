import type { Encoder } from "../codec/encoder.js";
import type { MessageType } from "../codec/message.js";
import { badBytes, badValue, checkInt64, checkUint64, MAX_LENGTH, tooLarge } from "../codec/checks.js";
import { DecodeError, EncodeError } from "../wire/errors.js";
import { Reader } from "../wire/reader.js";
import { EMPTY_BYTES, int64Size, sint64Size, varint32Size } from "../wire/varint.js";
import { scalarZero } from "./util.js";
import { fieldFromSpec, is64Bit, type FieldInfo, type FieldSpec, type ScalarType } from "./types.js";

/**
 * Extensions (`extend Foo { ... }`).
 *
 * Storage. A message whose type declares extension ranges has an optional `$extensions` property:
 * its extension fields in ascending field-number order (ExtensionField), each either the raw wire
 * fields decoding found (views of the input, decoded by getExtension on first use) or a value
 * (decoded, or set by setExtension). The generated write pass writes them at their field numbers
 * among the known fields, as protobuf C++ does; `$unknown` is still written last.
 *
 * Which fields go there: when a message is decoded, a field in one of its extension ranges whose
 * number belongs to an extension that is defined (its generated module has been loaded:
 * defineExtension registers it, as protobuf C++'s generated pool knows every linked extension)
 * goes to `$extensions`; any other field stays in `$unknown`, as before. If an extension's module
 * is loaded after a message was decoded, getExtension and friends find its fields in `$unknown`
 * and move them to `$extensions`.
 *
 * Zero copy. A raw extension field is written back as it was read (a view, copied or referenced
 * as a segment like preserved unknown fields, by the copy threshold); a bytes-valued extension set
 * or decoded is written like a bytes field (referenced at or above the threshold).
 */

/** An extension: what generated code exports for each `extend` field (`<scope>_<name>$ext`). */
export interface Extension<E, V> {
  /** Fully qualified protobuf name of the extension, e.g. "pkg.Outer.my_ext". */
  readonly typeName: string;
  /** The message it extends. */
  readonly extendee: MessageType<E>;
  /** Its field number. */
  readonly number: number;
  /**
   * The extension as a field (read lazily: it may name types of other modules): `name` as
   * declared, `jsonName` "[pkg.my_ext]", `localName` the full name.
   */
  readonly field: FieldInfo;
  /**
   * What getExtension returns when the extension is absent: the declared default or the type's
   * zero (a singular scalar or enum), an empty message (not stored), or an empty array.
   */
  absent(): V;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyExtension = Extension<any, any>;

/** One extension field of a message (see the storage note above). */
export interface ExtensionField {
  /** the field number */
  readonly no: number;
  /** raw fields (tag and value) as decoded, in input order; undefined once decoded or set */
  raw: Uint8Array[] | undefined;
  /** the extension the value belongs to (set once decoded or set) */
  ext: AnyExtension | undefined;
  /** the value (when `ext` is set) */
  value: unknown;
}

/** A message that can hold extensions. */
export interface Extendable {
  $extensions?: ExtensionField[];
  $unknown?: Uint8Array[];
}

/** What generated code passes to defineExtension. */
export interface ExtensionSpec<E, V> {
  /** fully qualified name */
  typeName: string;
  extendee: MessageType<E>;
  /** the field (as for messages' reflection); `json` defaults to "[typeName]" here */
  field: FieldSpec;
  /** the declared default of a singular scalar or enum, when not the type's zero */
  default?: V;
  /** string extensions: reject invalid UTF-8 when decoding (proto3 and editions VERIFY) */
  utf8?: true;
}

/** Extensions defined so far, by extendee type name and field number. */
const known = new Map<string, Map<number, AnyExtension>>();

/**
 * The extensions defined for a message type, by field number (a live map: extensions defined later
 * appear in it). Generated decoders of messages with extension ranges hold it.
 */
export function extensionsOf(typeName: string): ReadonlyMap<number, AnyExtension> {
  let m = known.get(typeName);
  if (m === undefined) known.set(typeName, (m = new Map()));
  return m;
}

interface Resolved {
  field: FieldInfo;
  tag: number;
  /** wire type of one (unpacked) value */
  wt: number;
  utf8: boolean;
}

interface ExtensionImpl extends AnyExtension {
  readonly $r: () => Resolved;
}

function wireTypeOf(f: FieldInfo): number {
  if (f.kind === "message") return f.delimited ? 3 : 2;
  if (f.kind === "enum") return 0;
  if (f.kind === "map") return 2;
  switch (f.scalar) {
    case "double": case "fixed64": case "sfixed64": return 1;
    case "float": case "fixed32": case "sfixed32": return 5;
    case "string": case "bytes": return 2;
    default: return 0;
  }
}

/**
 * Builds an extension's descriptor; generated code calls it. It is registered with its extendee
 * (extensionsOf), so messages decoded from then on keep its fields in `$extensions`. When two
 * different extensions claim one extendee and number (two copies of a generated module), the
 * first stays registered.
 */
export function defineExtension<E, V>(spec: ExtensionSpec<E, V>): Extension<E, V> {
  const { typeName, extendee } = spec;
  const no = spec.field.no;
  let resolved: Resolved | undefined;
  const r = (): Resolved => {
    if (resolved === undefined) {
      const field = fieldFromSpec({ json: `[${typeName}]`, local: typeName, ...spec.field }, typeName);
      const wt = wireTypeOf(field);
      resolved = { field, tag: ((no << 3) | wt) >>> 0, wt, utf8: spec.utf8 === true };
    }
    return resolved;
  };
  const ext: ExtensionImpl = {
    typeName,
    extendee,
    number: no,
    get field() {
      return r().field;
    },
    absent(): V {
      const f = r().field;
      if (f.repeated) return [] as V;
      if (f.kind === "message") return f.message.create() as V;
      if (spec.default !== undefined) return spec.default;
      return (f.kind === "enum" ? (f.enum.values[0]?.number ?? 0) : scalarZero((f as { scalar: ScalarType }).scalar)) as V;
    },
    $r: r,
  };
  Object.freeze(ext);
  const map = extensionsOf(extendee.typeName) as Map<number, AnyExtension>;
  if (!map.has(no)) map.set(no, ext);
  return ext;
}

function impl(ext: AnyExtension, what: string): ExtensionImpl {
  if (typeof ext !== "object" || ext === null || typeof (ext as ExtensionImpl).$r !== "function") {
    throw new TypeError(`${what}: expected an extension (a generated <name>$ext), got ${ext === null ? "null" : typeof ext}`);
  }
  return ext as ExtensionImpl;
}

function checkMessage(msg: unknown, what: string): asserts msg is Extendable {
  if (typeof msg !== "object" || msg === null || Array.isArray(msg)) {
    throw new TypeError(`${what}: expected a message object, got ${msg === null ? "null" : Array.isArray(msg) ? "an array" : typeof msg}`);
  }
}

/** Index of the entry for field `no` in the sorted store, or -(insertion point) - 1. */
function find(x: ExtensionField[], no: number): number {
  let lo = 0;
  let hi = x.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const n = x[mid]!.no;
    if (n === no) return mid;
    if (n < no) lo = mid + 1;
    else hi = mid - 1;
  }
  return -lo - 1;
}

/**
 * Keeps input bytes [start, r.pos) (one extension field) in `m.$extensions`; generated decoders
 * of messages with extension ranges call it for a field whose number a defined extension has.
 */
export function keepExtension(r: Reader, m: Extendable, no: number, start: number): void {
  const buf = r.buf;
  const v = new Uint8Array(buf.buffer, buf.byteOffset + start, r.pos - start);
  const x = (m.$extensions ??= []);
  // fields mostly arrive in order: look at the last entry first
  const last = x[x.length - 1];
  let i: number;
  if (last !== undefined && last.no === no) i = x.length - 1;
  else if (last === undefined || last.no < no) {
    x.push({ no, raw: [v], ext: undefined, value: undefined });
    return;
  } else i = find(x, no);
  if (i < 0) {
    x.splice(-i - 1, 0, { no, raw: [v], ext: undefined, value: undefined });
    return;
  }
  const e = x[i]!;
  if (e.raw !== undefined) e.raw.push(v);
  else if (e.ext !== undefined) {
    // a value was already decoded or set (a merge into an existing message): merge this field in
    e.value = decodeInto(e.ext as ExtensionImpl, [v], e.value, m);
  } else e.raw = [v];
}

/**
 * Moves the fields numbered `no` out of `m.$unknown` (where a message decoded before the
 * extension was defined keeps them) into a raw entry of `m.$extensions`.
 */
function promote(m: Extendable, no: number): void {
  const u = m.$unknown;
  if (u === undefined || u.length === 0) return;
  // once decoded, fields of that number in $unknown are what decoding put back there (values a
  // closed enum does not declare): they stay unknown, as protobuf C++ keeps them
  const decoded = m.$extensions;
  if (Array.isArray(decoded)) {
    const i = find(decoded, no);
    if (i >= 0 && decoded[i]!.raw === undefined) return;
  }
  let found: Uint8Array[] | undefined;
  let rest: Uint8Array[] | undefined;
  for (let k = 0; k < u.length; k++) {
    const b = u[k]!;
    if (!(b instanceof Uint8Array)) {
      // not ours to judge here: kept as it is (the encoder refuses it by name)
      if (rest !== undefined) rest.push(b);
      continue;
    }
    const r = new Reader(b);
    let runStart = 0;
    let split = false;
    try {
      while (r.pos < b.length) {
        const at = r.pos;
        const t = r.tag();
        r.skip(t);
        if (t >>> 3 !== no) continue;
        if (!split) {
          split = true;
          rest ??= u.slice(0, k);
        }
        if (at > runStart) rest!.push(b.subarray(runStart, at));
        (found ??= []).push(b.subarray(at, r.pos));
        runStart = r.pos;
      }
    } catch {
      // malformed unknown bytes: the rest of the chunk is kept as it is (the encoder refuses it
      // with a clear error)
      if (rest !== undefined) rest.push(split ? b.subarray(runStart) : b);
      continue;
    }
    if (split) {
      if (runStart < b.length) rest!.push(b.subarray(runStart));
    } else if (rest !== undefined) rest.push(b);
  }
  if (found === undefined) return;
  if (rest!.length === 0) delete m.$unknown;
  else m.$unknown = rest;
  const x = (m.$extensions ??= []);
  const i = find(x, no);
  if (i < 0) x.splice(-i - 1, 0, { no, raw: found, ext: undefined, value: undefined });
  else if (x[i]!.raw !== undefined) x[i]!.raw = [...found, ...x[i]!.raw!];
}

/** The entry of `ext` in `m`, decoded; undefined when absent. */
function entryOf(m: Extendable, ext: ExtensionImpl, what: string): ExtensionField | undefined {
  checkMessage(m, what);
  promote(m, ext.number);
  const x = m.$extensions;
  if (x === undefined) return undefined;
  if (!Array.isArray(x)) throw new TypeError(`${what}: $extensions is not an array`);
  const i = find(x, ext.number);
  if (i < 0) return undefined;
  const e = x[i]!;
  if (e.raw !== undefined) {
    const raw = e.raw;
    e.value = decodeInto(ext, raw, undefined, m);
    e.raw = undefined;
    e.ext = ext;
    if (e.value === undefined) {
      // a singular closed enum whose every value was undeclared: those went to $unknown, and
      // the extension is absent, as protobuf C++ reads it
      x.splice(i, 1);
      if (x.length === 0) delete m.$extensions;
      return undefined;
    }
  } else if (e.ext !== ext) {
    if (e.ext === undefined) throw new TypeError(`${what}: $extensions entry for field ${ext.number} has neither raw fields nor a value`);
    // the same extension from another copy of its generated module (a registry or the text and
    // JSON readers may hold the first copy loaded): one schema, so the value is the same
    if (e.ext.typeName !== ext.typeName) throw new TypeError(`${what}: field ${ext.number} holds extension ${e.ext.typeName}, not ${ext.typeName}`);
  }
  return e;
}

/**
 * The value of extension `ext` in `msg`; when absent, `ext.absent()` (the default for a scalar or
 * enum, an empty message, an empty array), which is not stored. A message or array returned for
 * a present extension is the stored one: changing it changes the message. Throws a DecodeError
 * naming the extension if its stored bytes do not decode.
 */
export function getExtension<E, V>(msg: E, ext: Extension<NoInfer<E>, V>): V {
  const x = impl(ext, "getExtension");
  const e = entryOf(msg as Extendable, x, `getExtension(${x.typeName})`);
  return e === undefined ? ext.absent() : (e.value as V);
}

/** Whether `msg` has extension `ext` (a repeated one: with at least one element). */
export function hasExtension<E>(msg: E, ext: Extension<NoInfer<E>, unknown>): boolean {
  const x = impl(ext, "hasExtension");
  const e = entryOf(msg as Extendable, x, `hasExtension(${x.typeName})`);
  if (e === undefined) return false;
  return !(x.field.repeated && Array.isArray(e.value) && e.value.length === 0);
}

/**
 * Sets extension `ext` of `msg` to `value` (replacing what it had). The value is checked now
 * (a TypeError names the extension and what is wrong) and again when the message is encoded; a
 * message or array is stored as it is, not copied. `undefined` clears it.
 */
export function setExtension<E, V>(msg: E, ext: Extension<NoInfer<E>, V>, value: NoInfer<V>): void {
  const x = impl(ext, "setExtension");
  const what = `setExtension(${x.typeName})`;
  const m = msg as Extendable;
  checkMessage(m, what);
  if (value === undefined) {
    clearExtension(msg, ext);
    return;
  }
  try {
    checkValue(x.$r(), value, "");
  } catch (err) {
    if (err instanceof EncodeError) throw new TypeError(`${what}: ${err.path === "" ? "" : err.path + ": "}${err.detail}`);
    throw err;
  }
  promote(m, x.number);
  const store = (m.$extensions ??= []);
  const i = find(store, x.number);
  const entry: ExtensionField = { no: x.number, raw: undefined, ext: x, value };
  if (i < 0) store.splice(-i - 1, 0, entry);
  else store[i] = entry;
}

/** Removes extension `ext` from `msg` (from `$unknown` too, where it may sit). */
export function clearExtension<E>(msg: E, ext: Extension<NoInfer<E>, unknown>): void {
  const x = impl(ext, "clearExtension");
  const m = msg as Extendable;
  checkMessage(m, `clearExtension(${x.typeName})`);
  promote(m, x.number);
  const store = m.$extensions;
  if (store === undefined) return;
  const i = find(store, x.number);
  if (i >= 0) store.splice(i, 1);
  if (store.length === 0) delete m.$extensions;
}

// ---------------------------------------------------------------- decoding

function readScalar(r: Reader, t: ScalarType, utf8: boolean): unknown {
  switch (t) {
    case "double": return r.double();
    case "float": return r.float();
    case "int32": return r.int32();
    case "uint32": return r.uint32();
    case "sint32": return r.sint32();
    case "fixed32": return r.fixed32();
    case "sfixed32": return r.sfixed32();
    case "int64": return r.int64();
    case "uint64": return r.uint64();
    case "sint64": return r.sint64();
    case "fixed64": return r.fixed64();
    case "sfixed64": return r.sfixed64();
    case "bool": return r.bool();
    case "string": return r.string(utf8);
    case "bytes": return r.bytes();
  }
}

/**
 * Decodes raw fields of `ext` (merged into `prev`, a value decoded before); a closed enum's
 * unknown numbers go to `unknownTo.$unknown` as protobuf does.
 */
function decodeInto(ext: ExtensionImpl, raw: Uint8Array[], prev: unknown, unknownTo: { $unknown?: Uint8Array[] | undefined }): unknown {
  const { field: f, wt, utf8 } = ext.$r();
  const closed = f.kind === "enum" && f.enum.closed ? f.enum : undefined;
  let value = prev;
  const list: unknown[] = f.repeated ? ((prev as unknown[] | undefined) ?? []) : [];
  for (const b of raw) {
    const r = new Reader(b);
    try {
      while (r.pos < b.length) {
        const start = r.pos;
        const t = r.tag();
        if (t >>> 3 !== ext.number) throw new DecodeError(`field ${t >>> 3} in the raw fields of extension ${ext.number}`, start);
        const w = t & 7;
        if (f.kind === "message") {
          if (w !== wt) throw new DecodeError(`wire type ${w} for a ${f.delimited ? "group" : "message"}`, start);
          const target = f.repeated ? undefined : value;
          let v: unknown;
          if (f.delimited) {
            v = f.message.$read(r, r.end, ext.number, target);
          } else {
            const end = r.lenEnd();
            const saved = r.end;
            r.end = end;
            v = f.message.$read(r, end, 0, target);
            r.end = saved;
          }
          if (f.repeated) list.push(v);
          else value = v;
          continue;
        }
        if (f.kind === "map") throw new DecodeError("an extension cannot be a map", start);
        const scalar = f.kind === "scalar" ? f.scalar : "int32";
        const one = (): void => {
          const v = readScalar(r, scalar, utf8);
          if (closed !== undefined && closed.byNumber(v as number) === undefined) {
            // as protobuf does: an unknown value of a closed enum is an unknown field
            (unknownTo.$unknown ??= []).push(unknownEnumField(ext.number, v as number));
            return;
          }
          if (f.repeated) list.push(v);
          else value = v;
        };
        if (w === 2 && f.repeated && !(f.kind === "scalar" && (f.scalar === "string" || f.scalar === "bytes"))) {
          // packed (accepted whatever the schema says)
          const end = r.lenEnd();
          const saved = r.end;
          r.end = end;
          while (r.pos < end) one();
          r.end = saved;
          continue;
        }
        if (w !== wt) throw new DecodeError(`wire type ${w} where the extension's type has ${wt}`, start);
        one();
      }
    } catch (err) {
      if (err instanceof DecodeError) throw new DecodeError(`cannot decode extension ${ext.typeName}: ${err.message}`, err.offset);
      throw err;
    }
  }
  return f.repeated ? list : value;
}

/** An enum value as a varint field (tag and value), for a closed enum's unknown number. */
function unknownEnumField(no: number, v: number): Uint8Array {
  const out = new Uint8Array(15);
  let p = 0;
  let tag = (no << 3) >>> 0;
  while (tag >= 0x80) {
    out[p++] = (tag & 0x7f) | 0x80;
    tag >>>= 7;
  }
  out[p++] = tag;
  let lo = v >>> 0;
  let hi = v < 0 ? 0xffffffff : 0;
  while (hi !== 0 || lo >= 0x80) {
    out[p++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  out[p++] = lo;
  return out.subarray(0, p);
}

// ---------------------------------------------------------------- encoding

function scalarCheck(t: ScalarType, v: unknown, path: string): void {
  switch (t) {
    case "double": case "float":
      if (typeof v !== "number") badValue(path, "a number", v);
      return;
    case "int32": case "sint32": case "sfixed32":
      if (typeof v !== "number" || (v | 0) !== v) badValue(path, "an int32 number", v);
      return;
    case "uint32": case "fixed32":
      if (typeof v !== "number" || v >>> 0 !== v) badValue(path, "a uint32 number", v);
      return;
    case "int64": case "sint64": case "sfixed64":
      checkInt64(v, path);
      return;
    case "uint64": case "fixed64":
      checkUint64(v, path);
      return;
    case "bool":
      if (typeof v !== "boolean") badValue(path, "a boolean", v);
      return;
    case "string":
      if (typeof v !== "string") badValue(path, "a string", v);
      return;
    case "bytes":
      if (!(v instanceof Uint8Array) || badBytes(v)) badValue(path, "a Uint8Array (not detached, at most 2 GiB - 1 bytes)", v);
  }
}

function checkOne(f: FieldInfo, v: unknown, path: string): void {
  if (f.kind === "message") {
    if (typeof v !== "object" || v === null || Array.isArray(v)) badValue(path, `a ${f.message.typeName} message object`, v);
  } else if (f.kind === "enum") {
    if (typeof v !== "number" || (v | 0) !== v) badValue(path, "an enum number (int32)", v);
  } else if (f.kind === "scalar") scalarCheck(f.scalar, v, path);
}

/** Checks a value for an extension (shallow for messages: their codec checks them when encoding). */
function checkValue(r: Resolved, v: unknown, path: string): void {
  const f = r.field;
  if (f.repeated) {
    if (!Array.isArray(v)) badValue(path, "an array", v);
    for (let k = 0; k < v.length; k++) checkOne(f, v[k], `${path}[${k}]`);
  } else checkOne(f, v, path);
}

/** Encoded size of one scalar value without its tag (strings and bytes with their length). */
function scalarSize(t: ScalarType, v: unknown, e: Encoder): number {
  switch (t) {
    case "double": case "fixed64": case "sfixed64": return 8;
    case "float": case "fixed32": case "sfixed32": return 4;
    case "int32": return (v as number) < 0 ? 10 : varint32Size(v as number);
    case "uint32": return varint32Size(v as number);
    case "sint32": return varint32Size(((v as number) << 1) ^ ((v as number) >> 31));
    case "int64": case "uint64": return int64Size(v as bigint);
    case "sint64": return sint64Size(v as bigint);
    case "bool": return 1;
    case "string": return e.sizeString(v as string);
    case "bytes": return e.sizeBytes(v as Uint8Array);
  }
}

function writeScalar(t: ScalarType, v: unknown, e: Encoder, path: string): void {
  switch (t) {
    case "double": e.double(v as number); return;
    case "float": e.float(v as number); return;
    case "int32": e.int32(v as number); return;
    case "uint32": e.uint32(v as number); return;
    case "sint32": e.sint32(v as number); return;
    case "fixed32": case "sfixed32": e.fixed32(v as number); return;
    case "int64": case "uint64": e.int64(v as bigint); return;
    case "sint64": e.sint64(v as bigint); return;
    case "fixed64": case "sfixed64": e.fixed64(v as bigint); return;
    case "bool": e.bool(v as boolean); return;
    case "string": if (e.string(v as string)) e.changed(path); return;
    case "bytes": e.bytes(v as Uint8Array); return;
  }
}

function tagSize(no: number, wt: number): number {
  return varint32Size(((no << 3) | wt) >>> 0);
}

function sizeMessageValue(r: Resolved, v: unknown, e: Encoder, path: string): number {
  const f = r.field as Extract<FieldInfo, { kind: "message" }>;
  const no = f.number;
  if (f.delimited) {
    let n: number;
    try { n = f.message.$size(v, e); } catch (err) { throw err instanceof EncodeError ? err.under(path) : err; }
    return 2 * tagSize(no, 3) + n;
  }
  const i = e.reserve();
  let n: number;
  try { n = f.message.$size(v, e); } catch (err) { throw err instanceof EncodeError ? err.under(path) : err; }
  e.sizes[i] = n;
  if (n > MAX_LENGTH) tooLarge(path, n);
  return tagSize(no, 2) + varint32Size(n) + n;
}

function writeMessageValue(r: Resolved, v: unknown, e: Encoder, path: string): void {
  const f = r.field as Extract<FieldInfo, { kind: "message" }>;
  const no = f.number;
  const call = (): void => {
    try { f.message.$write(v, e); } catch (err) { throw err instanceof EncodeError ? err.under(path) : err; }
  };
  if (f.delimited) {
    e.uint32(((no << 3) | 3) >>> 0);
    call();
    e.uint32(((no << 3) | 4) >>> 0);
    return;
  }
  e.uint32(((no << 3) | 2) >>> 0);
  const n = e.nextSize();
  e.uint32(n);
  const at = e.at();
  call();
  if (e.at() - at !== n) e.changed(path);
}

/** Size of an extension's value with its tag(s), after checking it. */
function sizeValue(r: Resolved, v: unknown, e: Encoder, path: string): number {
  checkValue(r, v, path);
  const f = r.field;
  const scalar: ScalarType = f.kind === "scalar" ? f.scalar : "int32";
  if (!f.repeated) {
    if (f.kind === "message") return sizeMessageValue(r, v, e, path);
    return tagSize(f.number, r.wt) + scalarSize(scalar, v, e);
  }
  const a = v as unknown[];
  if (a.length === 0) return 0;
  if (f.packed) {
    const i = e.reserve();
    let n = 0;
    for (let k = 0; k < a.length; k++) n += scalarSize(scalar, a[k], e);
    e.sizes[i] = n;
    return tagSize(f.number, 2) + varint32Size(n) + n;
  }
  let s = 0;
  for (let k = 0; k < a.length; k++) {
    s += f.kind === "message" ? sizeMessageValue(r, a[k], e, `${path}[${k}]`) : tagSize(f.number, r.wt) + scalarSize(scalar, a[k], e);
  }
  return s;
}

function writeValue(r: Resolved, v: unknown, e: Encoder, path: string): void {
  const f = r.field;
  const scalar: ScalarType = f.kind === "scalar" ? f.scalar : "int32";
  if (!f.repeated) {
    if (f.kind === "message") writeMessageValue(r, v, e, path);
    else {
      e.uint32(r.tag);
      writeScalar(scalar, v, e, path);
    }
    return;
  }
  const a = v as unknown[];
  if (a.length === 0) return;
  if (f.packed) {
    e.uint32(((f.number << 3) | 2) >>> 0);
    const n = e.nextSize();
    e.uint32(n);
    const at = e.at();
    for (let k = 0; k < a.length; k++) writeScalar(scalar, a[k], e, path);
    if (e.at() - at !== n) e.changed(path);
    return;
  }
  for (let k = 0; k < a.length; k++) {
    if (f.kind === "message") writeMessageValue(r, a[k], e, `${path}[${k}]`);
    else {
      e.uint32(r.tag);
      writeScalar(scalar, a[k], e, `${path}[${k}]`);
    }
  }
}

function entryPath(x: ExtensionField): string {
  return x.ext !== undefined ? `[${x.ext.typeName}]` : `[extension ${x.no}]`;
}

/**
 * Size pass over the extension fields of `x` numbered `lo` to `hi` (one run of extension ranges
 * between two known fields); generated size functions call it. Checks the store's shape.
 */
export function sizeExtensions(x: unknown, e: Encoder, lo: number, hi: number): number {
  if (!Array.isArray(x)) badValue("$extensions", "an array of extension fields", x);
  let s = 0;
  let prev = 0;
  for (let k = 0; k < x.length; k++) {
    const f = x[k] as ExtensionField;
    if (typeof f !== "object" || f === null || typeof f.no !== "number") badValue(`$extensions[${k}]`, "an extension field ({ no, raw, ext, value })", f);
    if (f.no <= prev) throw new EncodeError("extension fields out of field-number order", `$extensions[${k}]`);
    prev = f.no;
    if (f.no < lo) continue;
    if (f.no > hi) break;
    if (f.raw !== undefined) {
      const raw = f.raw;
      if (!Array.isArray(raw)) badValue(`$extensions[${k}].raw`, "an array of Uint8Array", raw);
      for (let j = 0; j < raw.length; j++) {
        const b = raw[j];
        if (!(b instanceof Uint8Array) || badBytes(b)) badValue(`$extensions[${k}].raw[${j}]`, "a Uint8Array of raw fields", b);
        s += e.sizeRaw(b);
      }
    } else if (f.ext !== undefined) {
      s += sizeValue(impl(f.ext, "$extensions").$r(), f.value, e, entryPath(f));
    } else badValue(`$extensions[${k}]`, "an extension field with raw fields or a value", f);
  }
  return s;
}

/** Write pass matching sizeExtensions (same fields, same order). */
export function writeExtensions(x: ExtensionField[], e: Encoder, lo: number, hi: number): void {
  for (let k = 0; k < x.length; k++) {
    const f = x[k]!;
    if (f.no < lo) continue;
    if (f.no > hi) break;
    if (f.raw !== undefined) {
      const raw = f.raw;
      for (let j = 0; j < raw.length; j++) e.raw(raw[j]!);
    } else writeValue((f.ext as ExtensionImpl).$r(), f.value, e, entryPath(f));
  }
}
