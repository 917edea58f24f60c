// Message -> text format, driven by reflection, in the layout protobuf C++'s TextFormat prints.

import type { MessageType } from "../codec/message.js";
import type { EnumType, FieldInfo, MapValueInfo, ScalarType } from "../reflect/types.js";
import type { Registry } from "../reflect/registry.js";
import { extensionsOf, getExtension, hasExtension, type AnyExtension, type ExtensionField } from "../reflect/extension.js";
import { Reader } from "../wire/reader.js";
import { compareUtf8 } from "../codec/encoder.js";
import { typeNameOfUrl } from "../wkt/any.js";
import { describeJson } from "../json/error.js";
import { TextFormatError } from "./error.js";
import { escapeBytes, escapeString } from "./strings.js";
import { checkDepth, type TextWriteOptions } from "./options.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyType = MessageType<any>;
type Msg = Record<string, unknown>;

const ANY = "google.protobuf.Any";

export class Printer {
  out = "";
  private ind = "";
  readonly single: boolean;
  readonly unknown: boolean;
  readonly utf8: boolean;
  readonly registry: Registry | undefined;
  readonly maxDepth: number;

  constructor(o: TextWriteOptions | undefined, fn: string) {
    this.single = o?.singleLine === true;
    this.unknown = o?.printUnknownFields === true;
    this.utf8 = o?.utf8Strings === true;
    this.registry = o?.registry;
    this.maxDepth = checkDepth(o?.maxDepth, fn);
  }

  line(text: string): void {
    if (this.single) this.out += this.out === "" ? text : " " + text;
    else this.out += this.ind + text + "\n";
  }

  open(name: string): void {
    this.line(name + " {");
    this.ind += "  ";
  }

  close(): void {
    this.ind = this.ind.slice(2);
    this.line("}");
  }
}

function fail(path: string, detail: string): never {
  throw new TextFormatError(detail, path, 0, 0);
}

/** The name a field is printed with: a group by its type's name, an extension as `[full.name]`. */
const names = new WeakMap<FieldInfo, string>();
function nameOf(f: FieldInfo): string {
  let n = names.get(f);
  if (n === undefined) {
    n = f.name;
    if (f.kind === "message" && f.delimited) {
      const t = f.message.typeName.slice(f.message.typeName.lastIndexOf(".") + 1);
      if (t.toLowerCase() === f.name) n = t;
    }
    names.set(f, n);
  }
  return n;
}

/** Prints the fields of message `m` of `type` (not its braces); `depth` counts messages above it. */
export function printMessage(type: AnyType, m: unknown, p: Printer, path: string, depth: number): void {
  if (m === null || typeof m !== "object" || Array.isArray(m)) fail(path, `expected a ${type.typeName} message object, got ${describeJson(m)}`);
  if (depth > p.maxDepth) fail(path, `message nesting deeper than the limit of ${p.maxDepth} (does the message contain itself?)`);
  const msg = m as Msg;
  if (type.typeName === ANY && printAnyExpanded(type, msg, p, path, depth)) return;
  const exts = msg.$extensions !== undefined || extensionsOf(type.typeName).size > 0 ? extensionList(type.typeName, msg, p) : [];
  let k = 0;
  for (const f of type.fields) {
    while (k < exts.length && exts[k]!.number < f.number) printExtension(exts[k++]!, msg, p, path, depth);
    printField(f, msg, p, path, depth);
  }
  while (k < exts.length) printExtension(exts[k++]!, msg, p, path, depth);
  if (p.unknown) {
    const raw: Uint8Array[] = [];
    // extension fields whose extension is not known here are unknown fields to a reader
    const store = msg.$extensions;
    if (Array.isArray(store)) {
      for (const e of store as ExtensionField[]) {
        if (e?.raw !== undefined && !exts.some((x) => x.number === e.no)) raw.push(...e.raw);
      }
    }
    const u = msg.$unknown;
    if (Array.isArray(u)) raw.push(...(u as Uint8Array[]));
    for (let i = 0; i < raw.length; i++) {
      const b = raw[i];
      if (!(b instanceof Uint8Array)) fail(`${path}.$unknown[${i}]`, `expected a Uint8Array of raw fields, got ${describeJson(b)}`);
      const fields = parseUnknown(b, depth, p.maxDepth);
      if (fields === undefined) fail(`${path}.$unknown[${i}]`, "unknown fields that do not parse as protobuf wire format");
      printUnknown(fields, p);
    }
  }
}

/** The extensions `msg` may hold, in field-number order. */
function extensionList(typeName: string, msg: Msg, p: Printer): AnyExtension[] {
  const exts = new Map<number, AnyExtension>(extensionsOf(typeName));
  const store = msg.$extensions;
  if (Array.isArray(store)) {
    for (const e of store as ExtensionField[]) {
      if (e === null || typeof e !== "object" || typeof e.no !== "number") continue;
      if (e.ext !== undefined) exts.set(e.no, e.ext);
      else if (!exts.has(e.no)) {
        const r = p.registry?.getExtensionFor(typeName, e.no);
        if (r !== undefined) exts.set(e.no, r);
      }
    }
  }
  return [...exts.values()].sort((a, b) => a.number - b.number);
}

function printExtension(ext: AnyExtension, msg: Msg, p: Printer, path: string, depth: number): void {
  const name = `[${ext.typeName}]`;
  const fp = `${path}${name}`;
  let v: unknown;
  try {
    if (!hasExtension(msg, ext)) return;
    v = getExtension(msg, ext);
  } catch (err) {
    fail(fp, (err as Error).message);
  }
  const f = ext.field;
  if (f.repeated) {
    const a = v as unknown[];
    for (let i = 0; i < a.length; i++) printValue(f, name, a[i], p, `${fp}[${i}]`, depth);
  } else printValue(f, name, v, p, fp, depth);
}

function printField(f: FieldInfo, msg: Msg, p: Printer, path: string, depth: number): void {
  let v = msg[f.oneof ?? f.localName];
  if (f.oneof !== undefined) {
    if (v === undefined || v === null || (v as { case?: unknown }).case !== f.localName) return;
    v = (v as { value?: unknown }).value;
  }
  if (v === undefined || v === null) return;
  const name = nameOf(f);
  const fp = `${path}.${f.name}`;
  if (f.kind === "map") {
    if (typeof v !== "object" || Array.isArray(v)) fail(fp, `expected a map object, got ${describeJson(v)}`);
    const keys = sortedKeys(f.key, Object.keys(v));
    for (const key of keys) {
      const kp = `${fp}[${JSON.stringify(key)}]`;
      p.open(name);
      p.line(`key: ${f.key === "string" ? escapeString(key, p.utf8) : key}`);
      printMapValue(f.value, (v as Msg)[key], p, kp, depth);
      p.close();
    }
    return;
  }
  if (f.repeated) {
    if (!Array.isArray(v)) fail(fp, `expected an array, got ${describeJson(v)}`);
    for (let i = 0; i < v.length; i++) printValue(f, name, v[i], p, `${fp}[${i}]`, depth);
    return;
  }
  // implicit presence: the default is not printed (-0 is not the default)
  if (f.presence === "implicit" && f.oneof === undefined && isZero(f, v)) return;
  printValue(f, name, v, p, fp, depth);
}

function printMapValue(val: MapValueInfo, v: unknown, p: Printer, path: string, depth: number): void {
  if (val.kind === "message") {
    p.open("value");
    printMessage(val.message, v, p, path, depth + 1);
    p.close();
  } else p.line(`value: ${val.kind === "enum" ? enumText(val.enum, v, path) : scalarText(val.scalar, v, path, p.utf8)}`);
}

function printValue(f: FieldInfo, name: string, v: unknown, p: Printer, path: string, depth: number): void {
  if (f.kind === "message") {
    p.open(name);
    printMessage(f.message, v, p, path, depth + 1);
    p.close();
  } else if (f.kind === "enum") p.line(`${name}: ${enumText(f.enum, v, path)}`);
  else if (f.kind === "scalar") p.line(`${name}: ${scalarText(f.scalar, v, path, p.utf8)}`);
}

/** An Any whose type is in the registry and whose value decodes: `[url] { ... }`. */
function printAnyExpanded(type: AnyType, m: Msg, p: Printer, path: string, depth: number): boolean {
  const uf = type.field(1);
  const vf = type.field(2);
  if (uf === undefined || vf === undefined) return false;
  const url = m[uf.localName];
  const value = m[vf.localName];
  if (typeof url !== "string" || url === "" || !(value instanceof Uint8Array) || p.registry === undefined) return false;
  const name = typeNameOfUrl(url);
  const inner = name === undefined ? undefined : p.registry.getMessage(name);
  if (inner === undefined) return false;
  let msg: unknown;
  try {
    msg = inner.fromBinary(value);
  } catch {
    return false; // printed as type_url and value, as protobuf C++ does
  }
  p.open(`[${url}]`);
  printMessage(inner, msg, p, `${path}[${url}]`, depth + 1);
  p.close();
  return true;
}

function isZero(f: FieldInfo, v: unknown): boolean {
  if (f.kind === "enum") return v === 0;
  if (f.kind !== "scalar") return false;
  switch (f.scalar) {
    case "bool": return v === false;
    case "string": return v === "";
    case "bytes": return v instanceof Uint8Array && v.length === 0;
    default: return v === 0n || Object.is(v, 0);
  }
}

/** Map keys in protobuf C++'s printing order: numeric for integers, false before true, strings by UTF-8 bytes. */
function sortedKeys(t: ScalarType, keys: string[]): string[] {
  if (t === "bool") return keys.sort();
  if (t === "string") return keys.sort(compareUtf8);
  const num = (k: string): bigint => {
    try {
      return BigInt(k);
    } catch {
      return 0n;
    }
  };
  return keys.sort((a, b) => {
    const x = num(a);
    const y = num(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

function enumText(e: EnumType, v: unknown, path: string): string {
  if (typeof v !== "number" || (v | 0) !== v) fail(path, `expected an enum number (int32), got ${describeJson(v)}`);
  return e.byNumber(v)?.name ?? String(v);
}

/** C's `%.{p}g`: p significant digits, exponent form below 1e-4 or from 10^p, no trailing zeros. */
function formatG(v: number, p: number): string {
  const e = v.toExponential(p - 1); // "d.ddde[+-]x"
  const at = e.indexOf("e");
  const x = Number(e.slice(at + 1));
  const strip = (s: string): string => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
  if (x < -4 || x >= p) {
    const ax = Math.abs(x);
    return `${strip(e.slice(0, at))}e${x < 0 ? "-" : "+"}${ax < 10 ? "0" : ""}${ax}`;
  }
  return strip(v.toFixed(Math.max(0, p - 1 - x)));
}

/**
 * A finite double or float as protobuf C++ prints it (SimpleDtoa / SimpleFtoa): `%.15g` (`%.6g`
 * for a float) when that reads back as the same value, else `%.17g` (`%.9g`).
 */
function floatText(v: number, float: boolean): string {
  const short = formatG(v, float ? 6 : 15);
  const back = Number(short);
  return (float ? Math.fround(back) === v : back === v) ? short : formatG(v, float ? 9 : 17);
}

function scalarText(t: ScalarType, v: unknown, path: string, utf8: boolean): string {
  const bad: (what: string) => never = (what) => fail(path, `expected ${what} for ${t}, got ${describeJson(v)}`);
  switch (t) {
    case "double":
    case "float":
      if (typeof v !== "number") bad("a number");
      if (Number.isNaN(v)) return "nan";
      if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
      if (Object.is(v, -0)) return "-0";
      return floatText(t === "float" ? Math.fround(v) : v, t === "float");
    case "int32": case "sint32": case "sfixed32":
      if (typeof v !== "number" || (v | 0) !== v) bad("an int32 number");
      return String(v);
    case "uint32": case "fixed32":
      if (typeof v !== "number" || v >>> 0 !== v) bad("a uint32 number");
      return String(v);
    case "bool":
      if (typeof v !== "boolean") bad("a boolean");
      return v ? "true" : "false";
    case "string":
      if (typeof v !== "string") bad("a string");
      return escapeString(v, utf8);
    case "bytes":
      if (!(v instanceof Uint8Array)) bad("a Uint8Array");
      return escapeBytes(v);
    default:
      if (typeof v !== "bigint") bad("a bigint");
      return v.toString();
  }
}

// ---------------------------------------------------------------- unknown fields

type Unknown =
  | { no: number; wt: 0 | 1 | 5; v: bigint | number }
  | { no: number; wt: 2; v: Uint8Array; nested: Unknown[] | undefined }
  | { no: number; wt: 3; v: Unknown[] };

/** Raw fields as a tree, or undefined when the bytes are not a sequence of whole fields. */
function parseUnknown(b: Uint8Array, depth: number, maxDepth: number): Unknown[] | undefined {
  const r = new Reader(b);
  try {
    const out = fieldsUntil(r, 0, depth, maxDepth);
    return out;
  } catch {
    return undefined;
  }
}

function fieldsUntil(r: Reader, group: number, depth: number, maxDepth: number): Unknown[] {
  if (depth > maxDepth) throw new Error("too deep");
  const out: Unknown[] = [];
  for (;;) {
    if (r.pos >= r.end) {
      if (group !== 0) throw new Error("unterminated group");
      return out;
    }
    const t = r.tag();
    const no = t >>> 3;
    switch (t & 7) {
      case 0: out.push({ no, wt: 0, v: r.uint64() }); break;
      case 1: out.push({ no, wt: 1, v: r.fixed64() }); break;
      case 5: out.push({ no, wt: 5, v: r.fixed32() }); break;
      case 2: {
        const v = r.bytes();
        let nested: Unknown[] | undefined;
        if (v.length > 0 && depth < maxDepth) {
          try {
            nested = fieldsUntil(new Reader(v), 0, depth + 1, maxDepth);
          } catch {
            nested = undefined;
          }
        }
        out.push({ no, wt: 2, v, nested });
        break;
      }
      case 3: out.push({ no, wt: 3, v: fieldsUntil(r, no, depth + 1, maxDepth) }); break;
      case 4:
        if (no !== group) throw new Error("unexpected end group");
        return out;
      default:
        throw new Error("wire type");
    }
  }
}

function printUnknown(fields: Unknown[], p: Printer): void {
  for (const u of fields) {
    switch (u.wt) {
      case 0: p.line(`${u.no}: ${u.v}`); break;
      case 1: p.line(`${u.no}: 0x${u.v.toString(16).padStart(16, "0")}`); break;
      case 5: p.line(`${u.no}: 0x${u.v.toString(16).padStart(8, "0")}`); break;
      case 2:
        if (u.nested !== undefined) {
          p.open(String(u.no));
          printUnknown(u.nested, p);
          p.close();
        } else p.line(`${u.no}: ${escapeBytes(u.v)}`);
        break;
      case 3:
        p.open(String(u.no));
        printUnknown(u.v, p);
        p.close();
        break;
    }
  }
}
