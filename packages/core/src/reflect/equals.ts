import type { MessageType } from "../codec/message.js";
import { extensionsOf, getExtension, type AnyExtension, type ExtensionField } from "./extension.js";
import type { FieldInfo, MapValueInfo, ScalarType } from "./types.js";
import { checkMessage, checkType, isStackOverflow, scalarZero, splitUnknown, type AnyMessageType, type Obj } from "./util.js";

/** Options of `equals`. */
export interface EqualsOptions {
  /**
   * Compare unknown fields (`$unknown`): default true, as protobuf C++'s MessageDifferencer does.
   * `false` ignores them (extension fields in `$extensions` are always compared).
   */
  unknown?: boolean;
  /**
   * Treat NaN as equal to NaN in float and double fields. Default false: floating-point values
   * compare as IEEE 754 does (NaN differs from everything, -0 equals 0), as protobuf C++'s
   * MessageDifferencer and protobuf-es's `equals` do.
   */
  nanEqual?: boolean;
}

interface Ctx {
  unknown: boolean;
  nanEqual: boolean;
}

/**
 * Whether messages `a` and `b` of `type` are equal with protobuf semantics, field by field through
 * reflection (`type.fields`):
 *
 * - implicit-presence fields (proto3 singular scalars) compare by value, a field left `undefined`
 *   counting as its zero: a field at its default equals one explicitly set to the default;
 * - explicit-presence fields (proto2 optional, proto3 `optional`, messages) and required fields:
 *   absent (`undefined` or `null`) differs from any value, the default included;
 * - float and double: IEEE 754 comparison, so `-0` equals `0` and NaN equals nothing, not even
 *   itself (`{ nanEqual: true }` makes NaN equal NaN); note that `-0` and `0` encode differently;
 * - bytes by content; 64-bit integers by value; enums by number; strings exactly;
 * - repeated fields element by element, in order (`undefined` counts as empty);
 * - maps as sets of entries, whatever their insertion order;
 * - oneofs: the same case selected, with equal values (no case and `{ case: undefined }` are equal);
 * - unknown fields (unless `{ unknown: false }`): compared as raw bytes, in order within a field
 *   number but not across numbers (the order in which C++ compares them: sorted by number), and
 *   an empty `$unknown` equals none. An unknown field written non-canonically (an overlong
 *   varint) differs from its canonical form;
 * - extension fields (`$extensions`): the same extensions with equal values, compared by their
 *   field's kind; fields decoded but not read yet are decoded on a scratch copy (the messages are
 *   not changed); an empty repeated extension counts as absent.
 *
 * Throws a TypeError for a type without reflection data or values that are not messages (naming
 * the path), and a RangeError for messages nested too deeply for the stack (or cyclic).
 */
export function equals<T>(type: MessageType<T>, a: T, b: T, options?: EqualsOptions): boolean {
  const t = checkType(type, "equals");
  const ctx: Ctx = { unknown: options?.unknown !== false, nanEqual: options?.nanEqual === true };
  try {
    return messageEquals(t, checkMessage(a, t, `${t.typeName} (a)`), checkMessage(b, t, `${t.typeName} (b)`), ctx, t.typeName);
  } catch (err) {
    if (isStackOverflow(err)) throw new RangeError(`equals: ${t.typeName} nested too deeply to compare (does it contain itself?)`);
    throw err;
  }
}

function messageEquals(type: AnyMessageType, a: Obj, b: Obj, ctx: Ctx, path: string): boolean {
  if (a === b) return true;
  for (const f of type.fields) {
    if (f.oneof !== undefined) continue;
    if (!fieldEquals(f, a[f.localName], b[f.localName], ctx, `${path}.${f.localName}`)) return false;
  }
  for (const o of type.oneofs) {
    const x = a[o.localName] as { case?: string; value?: unknown } | undefined | null;
    const y = b[o.localName] as { case?: string; value?: unknown } | undefined | null;
    const cx = x?.case;
    if (cx !== y?.case) return false;
    if (cx === undefined) continue;
    const member = o.fields.find((f) => f.localName === cx);
    if (member === undefined) throw new TypeError(`${path}.${o.localName}.case: ${type.typeName} has no oneof member ${JSON.stringify(cx)}`);
    if (!singularEquals(member, x!.value, y!.value, ctx, `${path}.${o.localName}.value`)) return false;
  }
  if (ctx.unknown && !unknownEquals(a.$unknown as Uint8Array[] | undefined, b.$unknown as Uint8Array[] | undefined)) return false;
  return (a.$extensions === undefined && b.$extensions === undefined) || extensionsEqual(type, a.$extensions, b.$extensions, ctx, path);
}

/** The entries of a `$extensions` store that hold something, by field number. */
function presentExtensions(x: unknown, path: string): ExtensionField[] {
  if (x === undefined || x === null) return [];
  if (!Array.isArray(x)) throw new TypeError(`${path}.$extensions: expected an array of extension fields`);
  return (x as ExtensionField[])
    .filter((e) => !(e.ext !== undefined && e.ext.field.repeated && Array.isArray(e.value) && e.value.length === 0))
    .sort((p, q) => p.no - q.no);
}

/** The value of entry `e` as extension `ext`, decoding raw fields without touching the message. */
function extensionValue(e: ExtensionField, ext: AnyExtension): unknown {
  if (e.ext !== undefined) return e.value;
  return getExtension({ $extensions: [{ no: e.no, raw: e.raw, ext: undefined, value: undefined }] }, ext);
}

function concatRaw(raw: readonly Uint8Array[] | undefined): Uint8Array {
  if (raw === undefined) return new Uint8Array(0);
  if (raw.length === 1) return raw[0]!;
  const out = new Uint8Array(raw.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of raw) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/**
 * Extension fields (`$extensions`): the same extensions with equal values (compared as their
 * field's kind says, raw fields decoded with the extension defined for that number, so packed and
 * unpacked or reordered encodings of one value are equal); only fields of no loaded extension
 * compare as raw bytes.
 */
function extensionsEqual(type: AnyMessageType, x: unknown, y: unknown, ctx: Ctx, path: string): boolean {
  const ex = presentExtensions(x, path);
  const ey = presentExtensions(y, path);
  if (ex.length !== ey.length) return false;
  for (let i = 0; i < ex.length; i++) {
    const p = ex[i]!;
    const q = ey[i]!;
    if (p.no !== q.no) return false;
    // two copies of one generated module define the same extension: compare by name
    if (p.ext !== undefined && q.ext !== undefined && p.ext.typeName !== q.ext.typeName) return false;
    const ext = p.ext ?? q.ext ?? extensionsOf(type.typeName).get(p.no);
    if (ext === undefined) {
      if (!bytesEqual(concatRaw(p.raw), concatRaw(q.raw))) return false;
      continue;
    }
    const where = `${path}[${ext.typeName}]`;
    if (!fieldEquals(ext.field, extensionValue(p, ext), extensionValue(q, ext), ctx, where)) return false;
  }
  return true;
}

function fieldEquals(f: FieldInfo, x: unknown, y: unknown, ctx: Ctx, path: string): boolean {
  if (f.kind === "map") return mapEquals(f.value, x as Obj | undefined, y as Obj | undefined, ctx, path);
  if (f.repeated) {
    const ax = (x ?? []) as unknown[];
    const ay = (y ?? []) as unknown[];
    if (!Array.isArray(ax) || !Array.isArray(ay)) throw new TypeError(`${path}: expected an array`);
    if (ax.length !== ay.length) return false;
    for (let i = 0; i < ax.length; i++) {
      if (!singularEquals(f, ax[i], ay[i], ctx, `${path}[${i}]`)) return false;
    }
    return true;
  }
  if (f.presence === "implicit" && f.kind !== "message") {
    const zero = f.kind === "enum" ? 0 : scalarZero(f.scalar);
    return singularEquals(f, x ?? zero, y ?? zero, ctx, path);
  }
  if (x == null || y == null) return x == null && y == null;
  return singularEquals(f, x, y, ctx, path);
}

/** One value of field `f` (or of a map's value side). */
function singularEquals(f: FieldInfo | MapValueInfo, x: unknown, y: unknown, ctx: Ctx, path: string): boolean {
  if (f.kind === "message") {
    if (x == null || y == null) return x == null && y == null;
    return messageEquals(f.message, checkMessage(x, f.message, path), checkMessage(y, f.message, path), ctx, path);
  }
  if (f.kind === "enum") return x === y;
  if (f.kind === "map") throw new Error("singularEquals of a map");
  return scalarEquals(f.scalar, x, y, ctx.nanEqual);
}

function scalarEquals(t: ScalarType, x: unknown, y: unknown, nanEqual: boolean): boolean {
  if (x === y) return true;
  switch (t) {
    case "double": case "float":
      return nanEqual && Number.isNaN(x) && Number.isNaN(y);
    case "bytes":
      return x instanceof Uint8Array && y instanceof Uint8Array && bytesEqual(x, y);
    case "int64": case "uint64": case "sint64": case "fixed64": case "sfixed64":
      // a number where a bigint belongs (by hand) still compares by value
      return typeof x !== typeof y && typeof x !== "object" && typeof y !== "object" && toBigInt(x) === toBigInt(y) && toBigInt(x) !== undefined;
    default:
      return false;
  }
}

function toBigInt(v: unknown): bigint | undefined {
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  return undefined;
}

function bytesEqual(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function mapEquals(v: MapValueInfo, x: Obj | undefined, y: Obj | undefined, ctx: Ctx, path: string): boolean {
  const kx = x == null ? [] : Object.keys(x);
  const ky = y == null ? [] : Object.keys(y);
  if (kx.length !== ky.length) return false;
  for (const k of kx) {
    if (!Object.prototype.hasOwnProperty.call(y, k)) return false;
    if (!singularEquals(v, x![k], y![k], ctx, `${path}[${JSON.stringify(k)}]`)) return false;
  }
  return true;
}

/** Unknown fields one per entry, sorted by field number, keeping the order within one number. */
function byNumber(u: readonly Uint8Array[]): Uint8Array[] {
  const keyed = splitUnknown(u).map(([n, raw], i) => ({ raw, n, i }));
  keyed.sort((p, q) => p.n - q.n || p.i - q.i);
  return keyed.map((k) => k.raw);
}

function unknownEquals(x: readonly Uint8Array[] | undefined, y: readonly Uint8Array[] | undefined): boolean {
  const ux = x ?? [];
  const uy = y ?? [];
  if (ux.length === 0 && uy.length === 0) return true;
  const sx = byNumber(ux);
  const sy = byNumber(uy);
  if (sx.length !== sy.length) return false;
  for (let i = 0; i < sx.length; i++) if (!bytesEqual(sx[i]!, sy[i]!)) return false;
  return true;
}
