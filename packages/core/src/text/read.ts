// Text format -> message, driven by reflection (MessageType.fields / oneofs, EnumType).

import type { MessageType } from "../codec/message.js";
import type { EnumType, FieldInfo, MapValueInfo, ScalarType } from "../reflect/types.js";
import type { Registry } from "../reflect/registry.js";
import { extensionsOf, getExtension, hasExtension, setExtension, type AnyExtension } from "../reflect/extension.js";
import { setOwn } from "../json/names.js";
import { typeNameOfUrl } from "../wkt/any.js";
import { EncodeError } from "../wire/errors.js";
import { EOF, IDENT, Lexer, NUMBER, STRING, describe, type Token } from "./lexer.js";
import { decodeLiteral } from "./strings.js";
import { checkDepth, type TextReadOptions } from "./options.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyType = MessageType<any>;
type Msg = Record<string, unknown>;

export interface ReadCtx {
  lx: Lexer;
  registry: Registry | undefined;
  ignoreUnknown: boolean;
  maxDepth: number;
}

export function readContext(lx: Lexer, o: TextReadOptions | undefined, fn: string): ReadCtx {
  return { lx, registry: o?.registry, ignoreUnknown: o?.ignoreUnknownFields === true, maxDepth: checkDepth(o?.maxDepth, fn) };
}

const ANY = "google.protobuf.Any";

/** .proto name (and a group's type name) -> field, per message type */
const lookups = new WeakMap<AnyType, Map<string, FieldInfo>>();
function lookup(type: AnyType): Map<string, FieldInfo> {
  let l = lookups.get(type);
  if (l === undefined) {
    l = new Map();
    for (const f of type.fields) l.set(f.name, f);
    // a group (or a group-like delimited field) is written by its type's name too
    for (const f of type.fields) {
      if (f.kind === "message" && f.delimited) {
        const t = f.message.typeName.slice(f.message.typeName.lastIndexOf(".") + 1);
        if (t.toLowerCase() === f.name && !l.has(t)) l.set(t, f);
      }
    }
    lookups.set(type, l);
  }
  return l;
}

/** The message of `type` that the text up to `close` (or the end of input) describes. */
export function readMessage(type: AnyType, c: ReadCtx, path: string, depth: number, close: string | undefined): Msg {
  const lx: Lexer = c.lx;
  if (depth > c.maxDepth) lx.fail(`nesting deeper than the limit of ${c.maxDepth}`, path);
  const m = type.create() as Msg;
  const seen = new Set<number>();
  const oneofs = new Map<string, string>();
  for (;;) {
    const t = lx.peek;
    if (close !== undefined ? lx.take(close) : t.kind === EOF) break;
    if (t.kind === EOF) lx.fail(`expected "${close}" to close ${type.typeName}, found the end of the input`, path);
    readField(type, m, seen, oneofs, c, path, depth);
  }
  return m;
}

/** `[a.b.c]` or `[host/path/a.b.c]`, after the "[": the name as written. */
function bracketName(c: ReadCtx, path: string, url: boolean): string {
  const lx: Lexer = c.lx;
  let name = "";
  for (;;) {
    const t = lx.peek;
    if (t.kind !== IDENT) lx.fail(`expected ${url ? "a type URL or " : ""}an extension name inside "[...]", found ${describe(t)}`, path);
    name += lx.next().text;
    if (lx.take("]")) return name;
    if (lx.take(".")) name += ".";
    else if (url && lx.take("/")) name += "/";
    else lx.fail(`expected "." or "]" in an extension name${url ? " or type URL" : ""}, found ${describe(lx.peek)}`, path);
  }
}

/** The extension of `type` named `name`: from the registry, else among those loaded. */
function extensionNamed(type: AnyType, name: string, registry: Registry | undefined): AnyExtension | undefined {
  const r = registry?.getExtension(name);
  if (r !== undefined && r.extendee.typeName === type.typeName) return r;
  for (const e of extensionsOf(type.typeName).values()) if (e.typeName === name) return e;
  return undefined;
}

function readField(type: AnyType, m: Msg, seen: Set<number>, oneofs: Map<string, string>, c: ReadCtx, path: string, depth: number): void {
  const lx: Lexer = c.lx;
  const start = lx.peek;
  let f: FieldInfo | undefined;
  let ext: AnyExtension | undefined;
  let label: string;
  if (lx.take("[")) {
    const isAny = type.typeName === ANY;
    const name = bracketName(c, path, isAny);
    if (isAny && name.includes("/")) {
      readAnyExpanded(type, m, seen, name, start, c, path, depth);
      separator(c);
      return;
    }
    label = `[${name}]`;
    ext = extensionNamed(type, name, c.registry);
    f = ext?.field;
    if (f === undefined) {
      if (!c.ignoreUnknown) lx.fail(`"${name}" is not an extension of ${type.typeName} (is its generated module loaded, or in options.registry?)`, path, start);
      skipField(c, `${path}${label}`, depth);
      return;
    }
  } else {
    if (start.kind !== IDENT) lx.fail(`expected a field name, found ${describe(start)}`, path);
    label = lx.next().text;
    f = lookup(type).get(label);
    if (f === undefined) {
      // a name the message reserves (`reserved "old";`) is skipped with its value, as protobuf C++ does
      if (!c.ignoreUnknown && !type.reservedNames.includes(label)) {
        lx.fail(`${type.typeName} has no field named "${label}"`, path, start);
      }
      skipField(c, `${path}.${label}`, depth);
      return;
    }
  }
  const fp = ext !== undefined ? `${path}${label}` : `${path}.${label}`;
  const isList = f.repeated || f.kind === "map";
  if (!isList) {
    if (seen.has(f.number)) lx.fail(`field ${label} is given twice (it is not repeated)`, path, start);
    seen.add(f.number);
    if (f.oneof !== undefined) {
      const other = oneofs.get(f.oneof);
      if (other !== undefined) lx.fail(`field ${label} and field ${other} are both given, members of one oneof`, path, start);
      oneofs.set(f.oneof, label);
    }
  }
  const isMsg = f.kind === "message" || f.kind === "map";
  if (isMsg) lx.take(":");
  else lx.expect(":", fp, `":" after field name ${label}`);
  const one = (p: string): void => {
    if (f.kind === "map") {
      readMapEntry(f, m, c, p, depth);
      return;
    }
    const v = f.kind === "message" ? readNested(f.message, c, p, depth) : f.kind === "enum" ? readEnum(f.enum, c, p) : readScalar(f.scalar, c, p);
    if (ext !== undefined) {
      if (f.repeated) {
        const cur = hasExtension(m, ext) ? (getExtension(m, ext) as unknown[]) : [];
        cur.push(v);
        setExtension(m, ext, cur);
      } else setExtension(m, ext, v);
    } else if (f.repeated) (m[f.localName] as unknown[]).push(v);
    else if (f.oneof !== undefined) m[f.oneof] = { case: f.localName, value: v };
    else m[f.localName] = v;
  };
  if (isList && lx.take("[")) {
    if (!lx.take("]")) {
      for (;;) {
        one(listPath(f, m, ext, fp));
        if (lx.take("]")) break;
        lx.expect(",", fp, `"," or "]" in the list of ${label}`);
      }
    }
  } else one(isList ? listPath(f, m, ext, fp) : fp);
  separator(c);
}

function listPath(f: FieldInfo, m: Msg, ext: AnyExtension | undefined, fp: string): string {
  if (f.kind === "map" || ext !== undefined) return fp;
  const a = m[f.localName];
  return Array.isArray(a) ? `${fp}[${a.length}]` : fp;
}

/** An optional "," or ";" after a field. */
function separator(c: ReadCtx): void {
  if (!c.lx.take(";")) c.lx.take(",");
}

function openBrace(c: ReadCtx, path: string, what: string): string {
  const lx: Lexer = c.lx;
  if (lx.take("{")) return "}";
  if (lx.take("<")) return ">";
  lx.fail(`expected "{" or "<" to start ${what}, found ${describe(lx.peek)}`, path);
}

function readNested(t: AnyType, c: ReadCtx, path: string, depth: number): Msg {
  if (depth + 1 > c.maxDepth) c.lx.fail(`nesting deeper than the limit of ${c.maxDepth}`, path);
  const close = openBrace(c, path, `a ${t.typeName} message`);
  return readMessage(t, c, path, depth + 1, close);
}

/** `[type.googleapis.com/pkg.Msg] { ... }` in a google.protobuf.Any. */
function readAnyExpanded(type: AnyType, m: Msg, seen: Set<number>, url: string, start: Token, c: ReadCtx, path: string, depth: number): void {
  const lx: Lexer = c.lx;
  const fp = `${path}[${url}]`;
  const name = typeNameOfUrl(url) ?? url;
  const inner = c.registry?.getMessage(name);
  if (inner === undefined) lx.fail(`type "${name}" of the Any is not in options.registry`, path, start);
  const urlField = type.field(1);
  const valueField = type.field(2);
  if (urlField === undefined || valueField === undefined) lx.fail(`${type.typeName} is not the well-known Any (fields 1 and 2)`, path, start);
  if (seen.has(1) || seen.has(2)) lx.fail("the Any's contents are given twice", path, start);
  seen.add(1);
  seen.add(2);
  lx.take(":");
  const msg = readNested(inner, c, fp, depth);
  let bytes: Uint8Array;
  try {
    bytes = inner.toBinary(msg);
  } catch (err) {
    if (err instanceof EncodeError) lx.fail(`the Any's ${inner.typeName} does not encode: ${err.message}`, fp, start);
    throw err;
  }
  m[urlField.localName] = url;
  m[valueField.localName] = bytes;
}

/** `key: K value: V` in braces: one map entry, set into m's map (the last of a key wins). */
function readMapEntry(f: FieldInfo & { kind: "map" }, m: Msg, c: ReadCtx, path: string, depth: number): void {
  const lx: Lexer = c.lx;
  if (depth + 1 > c.maxDepth) lx.fail(`nesting deeper than the limit of ${c.maxDepth}`, path);
  const close = openBrace(c, path, `an entry of map field ${f.name}`);
  let key: string | undefined;
  let value: unknown;
  let hasValue = false;
  for (;;) {
    if (lx.take(close)) break;
    const t = lx.peek;
    if (t.kind !== IDENT || (t.text !== "key" && t.text !== "value")) lx.fail(`expected "key" or "value" in an entry of map field ${f.name}, found ${describe(t)}`, path);
    lx.next();
    if (t.text === "key") {
      if (key !== undefined) lx.fail("the map entry's key is given twice", path, t);
      lx.expect(":", path, '":" after "key"');
      key = mapKey(f.key, c, `${path}.key`);
    } else {
      if (hasValue) lx.fail("the map entry's value is given twice", path, t);
      hasValue = true;
      const vp = key === undefined ? `${path}.value` : `${path}[${JSON.stringify(key)}]`;
      if (f.value.kind === "message") {
        lx.take(":");
        value = readNested(f.value.message, c, vp, depth);
      } else {
        lx.expect(":", path, '":" after "value"');
        value = f.value.kind === "enum" ? readEnum(f.value.enum, c, vp) : readScalar(f.value.scalar, c, vp);
      }
    }
    separator(c);
  }
  key ??= f.key === "bool" ? "false" : f.key === "string" ? "" : "0";
  if (!hasValue) value = zeroOfValue(f.value);
  let map = m[f.localName] as Msg | undefined;
  if (map === undefined || map === null) m[f.localName] = map = Object.create(null) as Msg;
  setOwn(map, key, value);
}

function zeroOfValue(v: MapValueInfo): unknown {
  if (v.kind === "message") return v.message.create();
  if (v.kind === "enum") return 0;
  return zeroOf(v.scalar);
}

function zeroOf(t: ScalarType): unknown {
  switch (t) {
    case "bool": return false;
    case "string": return "";
    case "bytes": return new Uint8Array(0);
    case "int64": case "uint64": case "sint64": case "fixed64": case "sfixed64": return 0n;
    default: return 0;
  }
}

/** A map key's string form (the property name generated maps use). */
function mapKey(t: ScalarType, c: ReadCtx, path: string): string {
  const v = readScalar(t, c, path);
  return String(v);
}

// ---------------------------------------------------------------- scalars

const LIMITS: Partial<Record<ScalarType, [bigint, bigint]>> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n], sint32: [-(2n ** 31n), 2n ** 31n - 1n], sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n], fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n], sint64: [-(2n ** 63n), 2n ** 63n - 1n], sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n], fixed64: [0n, 2n ** 64n - 1n],
};

/**
 * The integer a number token denotes (decimal, 0x hex, 0 octal), or a string saying why it is
 * not one. Digit counts are bounded before a BigInt is built.
 */
function integerOf(text: string): bigint | string {
  if (/^0[xX][0-9A-Fa-f]+$/.test(text)) {
    const d = text.slice(2).replace(/^0+/, "");
    return d.length > 16 ? "out of range" : BigInt("0x" + (d || "0"));
  }
  if (/^0[0-7]+$/.test(text)) {
    const d = text.slice(1).replace(/^0+/, "");
    return d.length > 22 ? "out of range" : BigInt("0o" + (d || "0"));
  }
  if (/^(0|[1-9][0-9]*)$/.test(text)) return text.length > 20 ? "out of range" : BigInt(text);
  if (/^0[0-9]+$/.test(text)) return "not a valid octal number";
  return "not an integer";
}

function readInt(t: ScalarType, c: ReadCtx, path: string): number | bigint {
  const lx: Lexer = c.lx;
  const at = lx.peek;
  const neg = lx.take("-");
  const tok = lx.peek;
  if (tok.kind !== NUMBER) lx.fail(`expected an integer for ${t}, found ${describe(tok)}`, path);
  lx.next();
  let n = integerOf(tok.text);
  const shown = (neg ? "-" : "") + (tok.text.length > 40 ? tok.text.slice(0, 40) + "..." : tok.text);
  if (typeof n === "string") {
    if (n === "out of range") lx.fail(`${shown} is out of the range of ${t}`, path, at);
    lx.fail(`${shown} is ${n} (${t} takes integers: decimal, 0x hex or 0 octal)`, path, at);
  }
  if (neg) {
    if (t === "uint32" || t === "fixed32" || t === "uint64" || t === "fixed64") lx.fail(`${shown}: ${t} cannot be negative`, path, at);
    n = -n;
  }
  const [lo, hi] = LIMITS[t]!;
  if (n < lo || n > hi) lx.fail(`${shown} is out of the range of ${t} [${lo}, ${hi}]`, path, at);
  return t === "int64" || t === "uint64" || t === "sint64" || t === "fixed64" || t === "sfixed64" ? n : Number(n);
}

const FLOAT_TEXT = /^(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fF]?$/;

function readFloat(t: "float" | "double", c: ReadCtx, path: string): number {
  const lx: Lexer = c.lx;
  const at = lx.peek;
  const neg = lx.take("-");
  const tok = lx.peek;
  let v: number;
  if (tok.kind === IDENT) {
    const w = tok.text.toLowerCase();
    if (w === "inf" || w === "infinity") v = Infinity;
    else if (w === "nan") v = NaN;
    else lx.fail(`expected a number for ${t}, found ${describe(tok)}`, path);
  } else if (tok.kind === NUMBER) {
    if (!FLOAT_TEXT.test(tok.text)) {
      lx.fail(`${describe(tok)} is not a ${t} (hex and octal are integers only)`, path, at);
    }
    const s = tok.text;
    v = Number(s.endsWith("f") || s.endsWith("F") ? s.slice(0, -1) : s);
  } else lx.fail(`expected a number for ${t}, found ${describe(tok)}`, path);
  lx.next();
  if (neg) v = -v;
  // a literal past the type's range is infinity (the spec maps overflow to ±inf)
  return t === "float" ? Math.fround(v) : v;
}

function readBool(c: ReadCtx, path: string): boolean {
  const lx: Lexer = c.lx;
  const tok = lx.peek;
  if (tok.kind === IDENT) {
    switch (tok.text) {
      case "true": case "True": case "t":
        lx.next();
        return true;
      case "false": case "False": case "f":
        lx.next();
        return false;
    }
  } else if (tok.kind === NUMBER && (tok.text === "0" || tok.text === "1")) {
    lx.next();
    return tok.text === "1";
  }
  lx.fail(`expected true or false for bool, found ${describe(tok)}`, path);
}

/** One or more adjacent string literals, concatenated, as bytes. */
function readBytes(c: ReadCtx, path: string, what: string): { bytes: Uint8Array; first: Token } {
  const lx: Lexer = c.lx;
  const first = lx.peek;
  if (first.kind !== STRING) lx.fail(`expected a quoted string for ${what}, found ${describe(first)}`, path);
  const out: number[] = [];
  while (lx.peek.kind === STRING) decodeLiteral(lx.next(), out, path);
  return { bytes: Uint8Array.from(out), first };
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function readScalar(t: ScalarType, c: ReadCtx, path: string): unknown {
  switch (t) {
    case "double":
    case "float":
      return readFloat(t, c, path);
    case "bool":
      return readBool(c, path);
    case "bytes":
      return readBytes(c, path, "bytes").bytes;
    case "string": {
      const { bytes, first } = readBytes(c, path, "string");
      try {
        return utf8.decode(bytes);
      } catch {
        c.lx.fail("invalid UTF-8 in a string field (use a bytes field for binary data)", path, first);
      }
    }
    // eslint-disable-next-line no-fallthrough
    default:
      return readInt(t, c, path);
  }
}

function readEnum(e: EnumType, c: ReadCtx, path: string): number {
  const lx: Lexer = c.lx;
  const tok = lx.peek;
  if (tok.kind === IDENT) {
    const v = e.byName(tok.text);
    if (v === undefined) lx.fail(`"${tok.text}" is not a value of enum ${e.typeName}`, path);
    lx.next();
    return v.number;
  }
  if (tok.kind !== NUMBER && !lx.at("-")) lx.fail(`expected a name or number of enum ${e.typeName}, found ${describe(tok)}`, path);
  const n = readInt("int32", c, path) as number;
  if (e.closed && e.byNumber(n) === undefined) lx.fail(`${n} is not a value of closed enum ${e.typeName}`, path, tok);
  return n;
}

// ---------------------------------------------------------------- skipping

/** Skips the value of a field that is unknown or reserved (its name has been read). */
function skipField(c: ReadCtx, path: string, depth: number): void {
  const lx: Lexer = c.lx;
  if (lx.take(":")) {
    if (lx.take("[")) {
      if (!lx.take("]")) {
        for (;;) {
          if (lx.at("{") || lx.at("<")) skipMessage(c, path, depth);
          else skipScalar(c, path);
          if (lx.take("]")) break;
          lx.expect(",", path, '"," or "]" in a list');
        }
      }
    } else if (lx.at("{") || lx.at("<")) skipMessage(c, path, depth);
    else skipScalar(c, path);
  } else skipMessage(c, path, depth);
  separator(c);
}

function skipScalar(c: ReadCtx, path: string): void {
  const lx: Lexer = c.lx;
  const neg = lx.take("-");
  const t = lx.peek;
  if (t.kind === STRING && !neg) {
    while (lx.peek.kind === STRING) decodeLiteral(lx.next(), [], path);
    return;
  }
  if (t.kind !== NUMBER && t.kind !== IDENT) lx.fail(`expected a value, found ${describe(t)}`, path);
  lx.next();
}

function skipMessage(c: ReadCtx, path: string, depth: number): void {
  const lx: Lexer = c.lx;
  if (depth + 1 > c.maxDepth) lx.fail(`nesting deeper than the limit of ${c.maxDepth}`, path);
  const close = openBrace(c, path, "a message");
  for (;;) {
    if (lx.take(close)) return;
    const t = lx.peek;
    if (t.kind === EOF) lx.fail(`expected "${close}", found the end of the input`, path);
    if (lx.take("[")) bracketName(c, path, true);
    else if (t.kind === IDENT || t.kind === NUMBER) lx.next();
    else lx.fail(`expected a field name, found ${describe(t)}`, path);
    skipField(c, path, depth + 1);
  }
}
