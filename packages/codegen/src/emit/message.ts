import { MAX_LENGTH } from "@sgwire/core";
import type { FieldModel, FieldType, MessageModel, ScalarType } from "../model.js";
import { CodeWriter } from "./writer.js";
import { SCALARS } from "./scalars.js";
import { literal, tagOf, tsValueType, varintLen, wireTypeOf, writeTag, type Scope } from "./names.js";

/**
 * Emits the TypeScript for one message: its interface, and the four functions the runtime drives
 * (create, size pass, write pass, read). Size and write passes visit fields in the same order
 * (field-number order, oneof members and unknown fields included) because the write pass consumes
 * the sizes the size pass cached, in order.
 */

const fn = (kind: string, m: { tsName: string }) => `${kind}$${m.tsName}`;

/** Name of a message type's pass function: local function or the imported codec's member. */
function passOf(kind: "size" | "write" | "read" | "create", t: Extract<FieldType, { kind: "message" }>, scope: Scope): string {
  if (scope.isLocal(t.ref)) return `${kind}$${t.ref.tsName}`;
  return kind === "create" ? `${scope.ref(t.ref)}.create` : `${scope.ref(t.ref)}.$${kind}`;
}

export function emitInterface(w: CodeWriter, m: MessageModel, scope: Scope): void {
  w.line(`/** protobuf message \`${m.fullName}\` */`);
  w.block(`export interface ${m.tsName}`, () => {
    const done = new Set<string>();
    for (const f of m.fields) {
      if (f.oneof !== undefined) {
        if (done.has(f.oneof)) continue;
        done.add(f.oneof);
        const o = m.oneofs.find((x) => x.jsName === f.oneof)!;
        const members = m.fields.filter((x) => x.oneof === o.jsName);
        w.line(`/** oneof \`${o.protoName}\` */`);
        w.line(`${o.jsName}?:`);
        w.indent(() => {
          for (const x of members) w.line(`| { case: "${x.jsName}"; value: ${tsValueType(x.type, scope)} }`);
          w.line(`| { case: undefined; value?: undefined };`);
        });
        continue;
      }
      w.line(`/** ${describe(f)} */`);
      if (f.map !== undefined) {
        w.line(`${f.jsName}: { [key: string]: ${tsValueType(f.map.value, scope)} };`);
      } else if (f.repeated) {
        w.line(`${f.jsName}: ${tsValueType(f.type, scope)}[];`);
      } else {
        // required fields have presence too: absent until set (create() does not fill them in)
        const opt = f.presence !== "implicit" || f.type.kind === "message" ? "?" : "";
        w.line(`${f.jsName}${opt}: ${tsValueType(f.type, scope)};`);
      }
    }
    if (m.extensionRanges.length > 0) {
      w.line("/** extension fields, by field number: read and set them with getExtension/setExtension */");
      w.line(`$extensions?: ${scope.use("ExtensionField")}[];`);
    }
    w.line("/** fields this schema does not know, kept as raw tag+value bytes (views of the input) */");
    w.line("$unknown?: Uint8Array[];");
  });
}

/**
 * The message's fields and runs of extension ranges in field-number order: a run is the extension
 * ranges between two consecutive fields, written as one [first, last] span.
 */
function fieldsAndExtensions(m: MessageModel): (FieldModel | [number, number])[] {
  const out: (FieldModel | [number, number])[] = [];
  const ranges = m.extensionRanges;
  let k = 0;
  for (const f of m.fields) {
    let run: [number, number] | undefined;
    while (k < ranges.length && ranges[k]![0] < f.number) {
      const r = ranges[k++]!;
      run = run === undefined ? [r[0], r[1]] : [run[0], r[1]];
    }
    if (run !== undefined) out.push(run);
    out.push(f);
  }
  if (k < ranges.length) out.push([ranges[k]![0], ranges[ranges.length - 1]![1]]);
  return out;
}

function typeText(t: FieldType): string {
  return t.kind === "scalar" ? t.scalar : t.ref.fullName;
}

function describe(f: FieldModel): string {
  const label = f.presence === "required" ? "required " : f.repeated ? "repeated " : f.presence === "explicit" ? "optional " : "";
  const type = f.map !== undefined ? `map<${f.map.key}, ${typeText(f.map.value)}>` : typeText(f.type);
  const opts: string[] = [];
  if (f.repeated && f.packed) opts.push("packed");
  if (f.type.kind === "message" && f.type.delimited) opts.push("group encoding");
  return `${label}${type} ${f.protoName} = ${f.number}${opts.length ? ` (${opts.join(", ")})` : ""}`;
}

export function emitCreate(w: CodeWriter, m: MessageModel, scope: Scope): void {
  w.block(`function ${fn("create", m)}(): ${m.tsName}`, () => {
    const props: string[] = [];
    for (const f of m.fields) {
      if (f.oneof !== undefined) continue;
      if (f.map !== undefined) props.push(`${f.jsName}: Object.create(null)`);
      else if (f.repeated) props.push(`${f.jsName}: []`);
      else if (f.type.kind !== "message" && f.presence === "implicit") props.push(`${f.jsName}: ${zeroOf(f, scope)}`);
    }
    w.line(`return { ${props.join(", ")} };`);
  });
}

function zeroOf(f: FieldModel, scope: Scope): string {
  if (f.defaultValue !== undefined) return literal(f.defaultValue, scope);
  const t = f.type;
  if (t.kind === "enum") return "0";
  if (t.kind === "scalar") {
    const z = SCALARS[t.scalar].zero;
    return z === "EMPTY_BYTES" ? scope.use("EMPTY_BYTES") : z;
  }
  return "undefined";
}

// ---------------------------------------------------------------- size pass

/** Statements validating value `v` of type `t` (path expression `p` for errors). */
function checkValue(t: FieldType, v: string, p: string, scope: Scope): string {
  if (t.kind === "message") return `if (typeof ${v} !== "object" || ${v} === null || Array.isArray(${v})) ${scope.use("badValue")}(${p}, "a ${t.ref.fullName} message object", ${v});`;
  if (t.kind === "enum") return `if (typeof ${v} !== "number" || (${v} | 0) !== ${v}) ${scope.use("badValue")}(${p}, "an enum number (int32)", ${v});`;
  const s = SCALARS[t.scalar];
  if (s.check64 !== undefined) return `${scope.use(s.check64)}(${v}, ${p});`;
  return `if (${runtimeNames(s.invalid(v), scope)}) ${scope.use("badValue")}(${p}, "${s.expected}", ${v});`;
}

/**
 * Calls of the runtime's helpers in a SCALARS expression, under the name this module imports them
 * as (a type of the file may have taken the plain name: a message called varint32Size).
 */
function runtimeNames(expr: string, scope: Scope): string {
  return expr.replace(/\b(varint32Size|int64Size|sint64Size|badBytes)\(/g, (_, sym: string) => `${scope.use(sym)}(`);
}

/** Expression: encoded size of one value (no tag). Scalars only (not messages). */
function valueSize(t: FieldType, v: string, scope: Scope): string {
  if (t.kind === "enum") return `(${v} < 0 ? 10 : ${scope.use("varint32Size")}(${v}))`;
  if (t.kind === "message") throw new Error("valueSize of a message");
  return runtimeNames(SCALARS[t.scalar].size(v), scope);
}

function nonDefault(t: FieldType, v: string): string {
  if (t.kind === "enum") return `${v} !== 0`;
  if (t.kind === "scalar") return SCALARS[t.scalar].nonDefault(v);
  return "true";
}

/** Statements adding a nested message value `v` to `s` (with cached length for LEN encoding). */
function sizeMessage(w: CodeWriter, t: Extract<FieldType, { kind: "message" }>, no: number, v: string, path: string, scope: Scope): void {
  const tagLen = varintLen(tagOf(no, 2));
  if (t.delimited) {
    w.line(`let n: number;`);
    w.line(`try { n = ${passOf("size", t, scope)}(${v}, e); } catch (err) { ${scope.use("nestedError")}(err, ${path}); }`);
    w.line(`s += ${2 * tagLen} + n;`);
    return;
  }
  w.line(`const i = e.reserve();`);
  w.line(`let n: number;`);
  w.line(`try { n = ${passOf("size", t, scope)}(${v}, e); } catch (err) { ${scope.use("nestedError")}(err, ${path}); }`);
  w.line(`e.sizes[i] = n;`);
  w.line(`if (n > ${MAX_LENGTH}) ${scope.use("tooLarge")}(${path}, n);`);
  w.line(`s += ${tagLen} + ${scope.use("varint32Size")}(n) + n;`);
}

function emitSizeField(w: CodeWriter, m: MessageModel, f: FieldModel, scope: Scope): void {
  const no = f.number;
  const p = JSON.stringify(f.jsName);
  const tagLen = varintLen(tagOf(no, wireTypeOf(f)));
  const t = f.type;
  if (f.map !== undefined) {
    const mp = f.map;
    w.line(`const o${no} = m.${f.jsName};`);
    w.block(`if (o${no} != null)`, () => {
      w.line(`${scope.use("checkMapObject")}(o${no}, ${p});`);
      w.line(`const ks = e.det ? e.sortKeys(o${no}, ${mapKeyOrder(mp.key)}) : Object.keys(o${no});`);
      w.block(`for (let k = 0; k < ks.length; k++)`, () => {
        w.line(`const key = ks[k]!;`);
        w.line(`const val = o${no}[key]!;`);
        w.line(`const i = e.reserve();`);
        if (mp.key === "string") w.line("let n = 2 + e.sizeString(key);");
        else if (SCALARS[mp.key].fixedWidth !== undefined) {
          w.line(`${mapKeyParse(mp.key, "key", p, scope, true)};`);
          w.line(`let n = 2 + ${SCALARS[mp.key].fixedWidth};`);
        } else {
          w.line(`const kv = ${mapKeyParse(mp.key, "key", p, scope, true)};`);
          w.line(`let n = 2 + ${valueSize({ kind: "scalar", scalar: mp.key }, "kv", scope)};`);
        }
        const vp = `${p} + "[\\"" + key + "\\"]"`;
        if (mp.value.kind === "message") {
          w.line(checkValue(mp.value, "val", vp, scope));
          w.line(`const j = e.reserve();`);
          w.line(`let vn: number;`);
          w.line(`try { vn = ${passOf("size", mp.value, scope)}(val, e); } catch (err) { ${scope.use("nestedError")}(err, ${vp}); }`);
          w.line(`e.sizes[j] = vn;`);
          w.line(`if (vn > ${MAX_LENGTH}) ${scope.use("tooLarge")}(${vp}, vn);`);
          w.line(`n += ${scope.use("varint32Size")}(vn) + vn;`);
        } else {
          w.line(checkValue(mp.value, "val", vp, scope));
          w.line(`n += ${valueSize(mp.value, "val", scope)};`);
        }
        w.line(`e.sizes[i] = n;`);
        w.line(`s += ${tagLen} + ${scope.use("varint32Size")}(n) + n;`);
      });
    });
    return;
  }
  if (f.repeated) {
    w.line(`const a${no} = m.${f.jsName};`);
    w.block(`if (a${no} != null && a${no}.length !== 0)`, () => {
      w.line(`if (!Array.isArray(a${no})) ${scope.use("badValue")}(${p}, "an array", a${no});`);
      const ep = `${p} + "[" + k + "]"`;
      if (f.packed) {
        const fixed = t.kind === "scalar" ? SCALARS[t.scalar].fixedWidth : undefined;
        if (fixed !== undefined) {
          w.block(`for (let k = 0; k < a${no}.length; k++)`, () => {
            w.line(`const v = a${no}[k]!;`);
            w.line(checkValue(t, "v", ep, scope));
          });
          w.line(`const n = a${no}.length * ${fixed};`);
          w.line(`s += ${tagLen} + ${scope.use("varint32Size")}(n) + n;`);
        } else {
          w.line(`const i = e.reserve();`);
          w.line(`let n = 0;`);
          w.block(`for (let k = 0; k < a${no}.length; k++)`, () => {
            w.line(`const v = a${no}[k]!;`);
            w.line(checkValue(t, "v", ep, scope));
            w.line(`n += ${valueSize(t, "v", scope)};`);
          });
          w.line(`e.sizes[i] = n;`);
          w.line(`s += ${tagLen} + ${scope.use("varint32Size")}(n) + n;`);
        }
        return;
      }
      w.block(`for (let k = 0; k < a${no}.length; k++)`, () => {
        w.line(`const v = a${no}[k]!;`);
        w.line(checkValue(t, "v", ep, scope));
        if (t.kind === "message") sizeMessage(w, t, no, "v", ep, scope);
        else w.line(`s += ${tagLen} + ${valueSize(t, "v", scope)};`);
      });
    });
    return;
  }
  // singular
  const v = `v${no}`;
  if (f.oneof !== undefined) {
    w.block(`if (c_${f.oneof} === "${f.jsName}")`, () => {
      w.line(`const ${v} = m.${f.oneof}!.value as ${tsValueType(t, scope)};`);
      w.line(checkValue(t, v, `"${f.oneof}.value"`, scope));
      if (t.kind === "message") sizeMessage(w, t, no, v, `"${f.oneof}.value"`, scope);
      else w.line(`s += ${tagLen} + ${valueSize(t, v, scope)};`);
    });
    return;
  }
  w.line(`const ${v} = m.${f.jsName};`);
  if (f.presence === "required") w.line(`if (${v} == null) ${scope.use("missingRequired")}(${p});`);
  w.block(`if (${v} != null)`, () => {
    w.line(checkValue(t, v, p, scope));
    if (t.kind === "message") sizeMessage(w, t, no, v, p, scope);
    else if (f.presence === "implicit") w.line(`if (${nonDefault(t, v)}) s += ${tagLen} + ${valueSize(t, v, scope)};`);
    else w.line(`s += ${tagLen} + ${valueSize(t, v, scope)};`);
  });
}

/** MapKeyOrder of @sgwire/core: how deterministic output sorts the keys. */
function mapKeyOrder(key: ScalarType): number {
  return key === "string" ? 0 : key === "bool" ? 1 : 2;
}

function mapKeyParse(key: ScalarType, k: string, p: string, scope: Scope, validate: boolean): string {
  switch (key) {
    case "string":
      return k;
    case "bool":
      return validate ? `${scope.use("mapKeyBool")}(${k}, ${p})` : `(${k} === "true")`;
    case "int64": case "sint64": case "sfixed64":
      return validate ? `${scope.use("mapKeyInt64")}(${k}, ${p}, false)` : `BigInt(${k})`;
    case "uint64": case "fixed64":
      return validate ? `${scope.use("mapKeyInt64")}(${k}, ${p}, true)` : `BigInt(${k})`;
    case "uint32": case "fixed32":
      return validate ? `${scope.use("mapKeyInt32")}(${k}, ${p}, true)` : `Number(${k})`;
    default:
      return validate ? `${scope.use("mapKeyInt32")}(${k}, ${p}, false)` : `Number(${k})`;
  }
}

export function emitSize(w: CodeWriter, m: MessageModel, scope: Scope): void {
  w.block(`function ${fn("size", m)}(m: ${m.tsName}, e: ${scope.use("Encoder")}): number`, () => {
    w.line("let s = 0;");
    emitOneofCases(w, m, scope, true);
    for (const f of fieldsAndExtensions(m)) {
      if (Array.isArray(f)) w.line(`if (m.$extensions !== undefined) s += ${scope.use("sizeExtensions")}(m.$extensions, e, ${f[0]}, ${f[1]});`);
      else emitSizeField(w, m, f, scope);
    }
    w.line(`if (m.$unknown !== undefined) s += ${scope.use("sizeUnknown")}(m.$unknown, e);`);
    // extensions set on a message of a type without ranges (TypeScript lets any all-optional
    // message stand for an extendee) would otherwise be dropped without a word
    if (m.extensionRanges.length === 0) {
      w.line(`if ((m as { $extensions?: unknown }).$extensions !== undefined) ${scope.use("noExtensionRanges")}(${JSON.stringify(m.fullName)});`);
    }
    w.line("return s;");
  });
}

function emitOneofCases(w: CodeWriter, m: MessageModel, scope: Scope, validate: boolean): void {
  for (const o of m.oneofs) {
    if (validate) w.line(`if (m.${o.jsName} != null) ${scope.use("checkOneof")}(m.${o.jsName}, "${o.jsName}");`);
    w.line(`const c_${o.jsName} = m.${o.jsName}?.case;`);
    if (!validate) continue;
    const names = m.fields.filter((f) => f.oneof === o.jsName).map((f) => `"${f.jsName}"`);
    const cond = names.map((n) => `c_${o.jsName} !== ${n}`).join(" && ");
    w.line(`if (c_${o.jsName} !== undefined && ${cond}) ${scope.use("badValue")}("${o.jsName}.case", "one of ${names.join(", ").replace(/"/g, "")} or undefined", c_${o.jsName});`);
  }
}

// ---------------------------------------------------------------- write pass

/** Statement writing scalar or enum `v`; `p` is the path expression named if a string changed. */
function writeValue(t: FieldType, v: string, p: string): string {
  if (t.kind === "enum") return `e.int32(${v});`;
  if (t.kind === "scalar") return SCALARS[t.scalar].write(v, p);
  throw new Error("writeValue of a message");
}

/**
 * Writes nested message `v` (path expression `p`). The write pass reads the message again: a
 * nested message whose bytes differ in length from what the size pass measured fails the encode
 * there, naming it (`e.changed`), and errors from deeper down get its name prepended.
 */
function writeMessage(w: CodeWriter, t: Extract<FieldType, { kind: "message" }>, no: number, v: string, p: string, scope: Scope): void {
  const call = `try { ${passOf("write", t, scope)}(${v}, e); } catch (err) { ${scope.use("nestedError")}(err, ${p}); }`;
  if (t.delimited) {
    w.line(writeTag(tagOf(no, 3)));
    w.line(call);
    w.line(writeTag(tagOf(no, 4)));
  } else {
    w.line(writeTag(tagOf(no, 2)));
    w.line("const n = e.nextSize();");
    w.line("e.uint32(n);");
    w.line("const at = e.at();");
    w.line(call);
    w.line(`if (e.at() - at !== n) e.changed(${p});`);
  }
}

function emitWriteField(w: CodeWriter, f: FieldModel, scope: Scope): void {
  const no = f.number;
  const p = JSON.stringify(f.jsName);
  const t = f.type;
  const tag = tagOf(no, wireTypeOf(f));
  if (f.map !== undefined) {
    const mp = f.map;
    w.line(`const o${no} = m.${f.jsName};`);
    w.block(`if (o${no} != null)`, () => {
      w.line(`const ks = e.det ? e.sortedKeys() : Object.keys(o${no});`);
      w.block(`for (let k = 0; k < ks.length; k++)`, () => {
        w.line(`const key = ks[k]!;`);
        w.line(`const val = o${no}[key]!;`);
        const ep = `${p} + "[" + JSON.stringify(key) + "]"`;
        w.line(writeTag(tag));
        w.line("const n = e.nextSize();");
        w.line("e.uint32(n);");
        w.line("const at = e.at();");
        const kt = SCALARS[mp.key];
        w.line(writeTag(tagOf(1, kt.wireType)));
        w.line(kt.write(mapKeyParse(mp.key, "key", "", scope, false), ep));
        if (mp.value.kind === "message") {
          w.line(writeTag(tagOf(2, 2)));
          w.line("const vn = e.nextSize();");
          w.line("e.uint32(vn);");
          w.line("const vat = e.at();");
          w.line(`try { ${passOf("write", mp.value, scope)}(val, e); } catch (err) { ${scope.use("nestedError")}(err, ${ep}); }`);
          w.line(`if (e.at() - vat !== vn) e.changed(${ep});`);
        } else {
          const wt = mp.value.kind === "enum" ? 0 : SCALARS[mp.value.scalar].wireType;
          w.line(writeTag(tagOf(2, wt)));
          w.line(writeValue(mp.value, "val", ep));
        }
        w.line(`if (e.at() - at !== n) e.changed(${ep});`);
      });
    });
    return;
  }
  if (f.repeated) {
    w.line(`const a${no} = m.${f.jsName};`);
    w.block(`if (a${no} != null && a${no}.length !== 0)`, () => {
      if (f.packed) {
        const fixed = t.kind === "scalar" ? SCALARS[t.scalar].fixedWidth : undefined;
        w.line(writeTag(tagOf(no, 2)));
        w.line(fixed !== undefined ? `const n = a${no}.length * ${fixed};` : "const n = e.nextSize();");
        w.line("e.uint32(n);");
        w.line("const at = e.at();");
        w.line(`for (let k = 0; k < a${no}.length; k++) ${writeValue(t, `a${no}[k]!`, p)}`);
        w.line(`if (e.at() - at !== n) e.changed(${p});`);
        return;
      }
      const ep = `${p} + "[" + k + "]"`;
      w.block(`for (let k = 0; k < a${no}.length; k++)`, () => {
        w.line(`const v = a${no}[k]!;`);
        if (t.kind === "message") writeMessage(w, t, no, "v", ep, scope);
        else {
          w.line(writeTag(tag));
          w.line(writeValue(t, "v", ep));
        }
      });
    });
    return;
  }
  const v = `v${no}`;
  const vp = f.oneof !== undefined ? `"${f.oneof}.value"` : p;
  const body = () => {
    if (t.kind === "message") writeMessage(w, t, no, v, vp, scope);
    else {
      w.line(writeTag(tag));
      w.line(writeValue(t, v, vp));
    }
  };
  if (f.oneof !== undefined) {
    w.block(`if (c_${f.oneof} === "${f.jsName}")`, () => {
      w.line(`const ${v} = m.${f.oneof}!.value as ${tsValueType(t, scope)};`);
      body();
    });
    return;
  }
  w.line(`const ${v} = m.${f.jsName};`);
  const cond = f.presence === "implicit" && t.kind !== "message" ? `${v} != null && (${nonDefault(t, v)})` : `${v} != null`;
  w.block(`if (${cond})`, body);
}

export function emitWrite(w: CodeWriter, m: MessageModel, scope: Scope): void {
  w.block(`function ${fn("write", m)}(m: ${m.tsName}, e: ${scope.use("Encoder")}): void`, () => {
    emitOneofCases(w, m, scope, false);
    if (m.extensionRanges.length > 0) w.line("const $x = m.$extensions;");
    for (const f of fieldsAndExtensions(m)) {
      if (Array.isArray(f)) w.line(`if ($x !== undefined) ${scope.use("writeExtensions")}($x, e, ${f[0]}, ${f[1]});`);
      else emitWriteField(w, f, scope);
    }
    w.line("const u = m.$unknown;");
    w.line("if (u !== undefined) for (let k = 0; k < u.length; k++) e.raw(u[k]!);");
  });
}

// ---------------------------------------------------------------- read

function readValue(t: FieldType, f: FieldModel): string {
  if (t.kind === "enum") return "r.int32()";
  if (t.kind === "scalar") return SCALARS[t.scalar].read(f.validateUtf8);
  throw new Error("readValue of a message");
}

/** Statement storing unknown raw bytes of the field just read. */
const keepUnknown = "r.keepUnknown(m, start);";

function emitReadField(w: CodeWriter, m: MessageModel, f: FieldModel, scope: Scope): void {
  const no = f.number;
  const t = f.type;
  const wt = wireTypeOf(f);
  const closed = t.kind === "enum" && t.closed ? scope.enumValue(t.ref) : undefined;
  if (f.map !== undefined) {
    const mp = f.map;
    w.block(`case ${tagOf(no, 2)}:`, () => {
      w.line("const end2 = r.lenEnd();");
      w.line("const saved = r.end;");
      w.line("r.end = end2;");
      const kt = SCALARS[mp.key];
      w.line(`let key: ${kt.ts} = ${kt.zero};`);
      const vt = tsValueType(mp.value, scope);
      if (mp.value.kind === "message") w.line(`let val: ${vt} | undefined;`);
      else w.line(`let val: ${vt} = ${mp.value.kind === "enum" ? "0" : SCALARS[mp.value.scalar].zero === "EMPTY_BYTES" ? scope.use("EMPTY_BYTES") : SCALARS[mp.value.scalar].zero};`);
      w.block("while (r.pos < end2)", () => {
        w.line("const t2 = r.tag();");
        w.line(`if (t2 === ${tagOf(1, kt.wireType)}) key = ${kt.read(f.validateUtf8)};`);
        if (mp.value.kind === "message") {
          w.line(`else if (t2 === ${tagOf(2, 2)}) val = ${scope.use("readMessage")}(r, ${passOf("read", mp.value, scope)}, val);`);
        } else {
          const vwt = mp.value.kind === "enum" ? 0 : SCALARS[mp.value.scalar].wireType;
          w.line(`else if (t2 === ${tagOf(2, vwt)}) val = ${readValue(mp.value, f)};`);
        }
        w.line("else r.skip(t2);");
      });
      w.line("r.end = saved;");
      const keyStr = mp.key === "string" ? "key" : "String(key)";
      const valExpr = mp.value.kind === "message" ? `val ?? ${passOf("create", mp.value, scope)}()` : "val";
      const store = `${scope.use("setMapEntry")}(m.${f.jsName}, ${keyStr}, ${valExpr});`;
      if (mp.value.kind === "enum" && mp.value.closed) {
        w.line(`if (${scope.enumValue(mp.value.ref)}[val] === undefined) ${keepUnknown}`);
        w.line(`else ${store}`);
      } else w.line(store);
      w.line("continue;");
    });
    return;
  }
  if (f.repeated) {
    const packable = t.kind !== "message" && !(t.kind === "scalar" && (t.scalar === "string" || t.scalar === "bytes"));
    if (packable) {
      // packed and unpacked encodings are both accepted, whatever the schema says
      w.block(`case ${tagOf(no, 2)}:`, () => {
        w.line("const end2 = r.lenEnd();");
        w.line("const saved = r.end;");
        w.line("r.end = end2;");
        w.line(`const a = m.${f.jsName};`);
        if (closed !== undefined) {
          w.block("while (r.pos < end2)", () => {
            // the whole 64-bit varint: an unknown value is kept as it came (C++ and upb do too)
            w.line("r.varint64();");
            w.line("const v = r.lo | 0;");
            w.line(`if (${closed}[v] !== undefined) a.push(v);`);
            w.line(`else (m.$unknown ??= []).push(${scope.use("unknownVarint")}(${no}, r.lo, r.hi));`);
          });
        } else w.line(`while (r.pos < end2) a.push(${readValue(t, f)});`);
        w.line("r.end = saved;");
        w.line("continue;");
      });
      w.block(`case ${tagOf(no, wt)}:`, () => {
        if (closed !== undefined) {
          w.line("const v = r.int32();");
          w.line(`if (${closed}[v] !== undefined) m.${f.jsName}.push(v);`);
          w.line(`else ${keepUnknown}`);
        } else w.line(`m.${f.jsName}.push(${readValue(t, f)});`);
        w.line("continue;");
      });
      return;
    }
    w.block(`case ${tagOf(no, wt)}:`, () => {
      if (t.kind === "message") {
        const read = t.delimited
          ? `${scope.use("readGroup")}(r, ${passOf("read", t, scope)}, ${no}, undefined)`
          : `${scope.use("readMessage")}(r, ${passOf("read", t, scope)}, undefined)`;
        w.line(`m.${f.jsName}.push(${read});`);
      } else w.line(`m.${f.jsName}.push(${readValue(t, f)});`);
      w.line("continue;");
    });
    return;
  }
  w.block(`case ${tagOf(no, wt)}:`, () => {
    if (t.kind === "message") {
      const prev = f.oneof !== undefined ? `(m.${f.oneof}?.case === "${f.jsName}" ? m.${f.oneof}.value : undefined)` : `m.${f.jsName}`;
      const read = t.delimited
        ? `${scope.use("readGroup")}(r, ${passOf("read", t, scope)}, ${no}, ${prev})`
        : `${scope.use("readMessage")}(r, ${passOf("read", t, scope)}, ${prev})`;
      if (f.oneof !== undefined) w.line(`m.${f.oneof} = { case: "${f.jsName}", value: ${read} };`);
      else w.line(`m.${f.jsName} = ${read};`);
    } else if (closed !== undefined) {
      w.line("const v = r.int32();");
      const store = f.oneof !== undefined ? `m.${f.oneof} = { case: "${f.jsName}", value: v };` : `m.${f.jsName} = v;`;
      w.line(`if (${closed}[v] !== undefined) ${store}`);
      w.line(`else ${keepUnknown}`);
    } else if (f.oneof !== undefined) {
      w.line(`m.${f.oneof} = { case: "${f.jsName}", value: ${readValue(t, f)} };`);
    } else {
      w.line(`m.${f.jsName} = ${readValue(t, f)};`);
    }
    w.line("continue;");
  });
}

/** A decoded message must have its required fields (set by this input or by the merge target). */
function checkRequired(w: CodeWriter, m: MessageModel): void {
  for (const f of m.fields) {
    if (f.presence === "required") w.line(`if (m.${f.jsName} === undefined) r.missing(${JSON.stringify(`${m.fullName}.${f.protoName}`)});`);
  }
}

/** The module-level map of the extensions defined for message `m` (extensionsOf of @sgwire/core). */
export function knownExtensionsName(m: MessageModel): string {
  return `ext$${m.tsName}`;
}

export function emitRead(w: CodeWriter, m: MessageModel, scope: Scope): void {
  if (m.extensionRanges.length > 0) {
    w.line(`const ${knownExtensionsName(m)} = ${scope.use("extensionsOf")}(${JSON.stringify(m.fullName)});`);
  }
  const sig = `function ${fn("read", m)}(r: ${scope.use("Reader")}, end: number, group: number, target: ${m.tsName} | undefined): ${m.tsName}`;
  w.block(sig, () => {
    w.line(`const m = target ?? ${fn("create", m)}();`);
    w.line("r.enter();");
    w.block("while (r.pos < end)", () => {
      w.line("const start = r.pos;");
      w.line("const t = r.tag();");
      if (m.fields.length > 0) {
        w.block("switch (t)", () => {
          for (const f of m.fields) emitReadField(w, m, f, scope);
        });
      }
      w.block("if ((t & 7) === 4)", () => {
        w.block("if (t >>> 3 === group)", () => {
          checkRequired(w, m);
          w.line("r.leave();");
          w.line("return m;");
        });
        w.line("r.fail(`END_GROUP for field ${t >>> 3} outside its group`, start);");
      });
      w.line("r.skip(t);");
      if (m.extensionRanges.length > 0) {
        // a field of a defined extension (its numbers lie in the ranges) goes to $extensions
        w.line(`if (${knownExtensionsName(m)}.has(t >>> 3)) ${scope.use("keepExtension")}(r, m, t >>> 3, start);`);
        w.line("else r.keepUnknown(m, start);");
      } else w.line("r.keepUnknown(m, start);");
    });
    w.line("if (group !== 0) r.fail(`group ${group} has no END_GROUP`);");
    checkRequired(w, m);
    w.line("r.leave();");
    w.line("return m;");
  });
}
