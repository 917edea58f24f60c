import { readFileSync } from "node:fs";
import protobuf from "protobufjs";
import { SchemaError } from "../model.js";
import { escapeNames } from "./escape-names.js";

/** What loadFiles learnt about one file, besides its types. */
export interface LoadedFile {
  package: string;
  /** "proto2", "proto3" or the edition ("2023"), as the model spells it */
  syntax: string;
}

/** An error of protobufjs's parser, with the file it was parsing. */
export interface ParseFailure extends Error {
  sgwireFile?: string;
}

type JsonNamespace = { nested?: Record<string, JsonNamespace>; fields?: Record<string, { protoName?: string }>; oneofs?: Record<string, { oneof: string[] }> };

/**
 * A bundled well-known type's JSON with its fields under their declared names: protobufjs's copy
 * of struct.proto names Value's fields in lowerCamelCase (`nullValue`) and keeps the declared name
 * in `protoName`, and the generated reflection data (and ProtoJSON) need the declared one.
 */
function declaredNames(ns: JsonNamespace): JsonNamespace {
  const out: JsonNamespace = { ...ns };
  if (ns.fields !== undefined) {
    const renamed = new Map<string, string>();
    out.fields = {};
    for (const [name, f] of Object.entries(ns.fields)) {
      const declared = f.protoName ?? name;
      renamed.set(name, declared);
      const { protoName: _, ...rest } = f;
      out.fields[declared] = rest;
    }
    if (ns.oneofs !== undefined) {
      out.oneofs = {};
      for (const [name, o] of Object.entries(ns.oneofs)) out.oneofs[name] = { ...o, oneof: o.oneof.map((f) => renamed.get(f) ?? f) };
    }
  }
  if (ns.nested !== undefined) {
    out.nested = {};
    for (const [name, n] of Object.entries(ns.nested)) out.nested[name] = declaredNames(n);
  }
  return out;
}

/**
 * Loads .proto files into a protobufjs Root the way `Root.loadSync` does (each file parsed, then
 * its imports, depth first; well-known types from the copies protobufjs bundles), and stamps every
 * reflection object with the file that declared it. The generator emits one module per .proto
 * file, so that file name must be right, and loadSync leaves it null in two cases:
 * - the bundled well-known types (google/protobuf/any.proto, ...) are added from JSON, which
 *   carries no file names;
 * - protobufjs's parser clears its current file name whenever it builds an error, even one it
 *   catches itself (an editions `reserved foo;` name makes one), so every object after that
 *   point in the file had no file.
 * `resolveImport` maps an import to a path, as Root.resolvePath does, or to null when no such file
 * exists; `searched` says where it looked, for the error. Returns every loaded file's package
 * and syntax (files that declare no types included), by file name.
 */
export function loadFiles(
  root: protobuf.Root,
  files: string[],
  options: protobuf.IParseOptions,
  resolveImport: (origin: string, target: string) => string | null,
  searched: (origin: string, target: string) => string,
  displayPath: (file: string) => string,
): Map<string, LoadedFile> {
  const loaded = new Map<string, LoadedFile>();
  const parser = protobuf.parse as unknown as { filename: string | null };

  const bundledName = (file: string): string | null => {
    const i = file.lastIndexOf("google/protobuf/");
    if (i >= 0 && protobuf.common.get(file.slice(i)) !== null) return file.slice(i);
    return protobuf.common.get(file) !== null ? file : null;
  };

  // Every object without a file so far was declared by the file just loaded: objects of earlier
  // files were stamped when those were loaded.
  const stamp = (ns: protobuf.NamespaceBase, file: string): void => {
    for (const o of ns.nestedArray) {
      if (o.filename == null) o.filename = file;
      if (o instanceof protobuf.Type) {
        for (const f of o.fieldsArray) if (f.filename == null) f.filename = file;
        for (const f of o.oneofsArray) if (f.filename == null) f.filename = file;
      }
      if (o instanceof protobuf.Namespace || o instanceof protobuf.Type) stamp(o, file);
    }
  };

  const fetch = (path: string, weak: boolean): void => {
    const file = bundledName(path) ?? path;
    if (root.files.includes(file)) return;
    root.files.push(file);
    const bundled = protobuf.common.get(file);
    if (bundled !== null) {
      root.addJSON((declaredNames(bundled as JsonNamespace).nested ?? {}) as protobuf.INamespace["nested"] & object);
      stamp(root, file);
      loaded.set(file, { package: "google.protobuf", syntax: "proto3" });
      return;
    }
    let source: string;
    try {
      source = readFileSync(file, "utf8");
    } catch (err) {
      if (weak) return;
      throw err;
    }
    parser.filename = file; // for the parser's own error messages
    let parsed: protobuf.IParserResult;
    try {
      parsed = parseProto(escapeNames(source), root, options);
    } catch (err) {
      (err as ParseFailure).sgwireFile ??= file;
      throw err;
    }
    stamp(root, file);
    loaded.set(file, { package: parsed.package ?? "", syntax: syntaxOf(source) });
    const imports: [string, boolean][] = [
      ...(parsed.imports ?? []).map((i): [string, boolean] => [i, false]),
      ...(parsed.weakImports ?? []).map((i): [string, boolean] => [i, true]),
    ];
    for (const [target, isWeak] of imports) {
      const resolved = bundledName(target) ?? resolveImport(file, target);
      if (resolved !== null) fetch(resolved, isWeak);
      else if (!isWeak) {
        const at = importLocation(source, target);
        throw new SchemaError(
          `import "${target}" not found; searched ${searched(file, target)}`,
          displayPath(file), at.line, at.column,
        );
      }
    }
  };

  for (const f of files) {
    const resolved = resolveImport("", f);
    if (resolved !== null) fetch(resolved, false);
  }
  return loaded;
}

/** Line and column (1-based) of the import statement of `target` in `source`; else 1:1. */
function importLocation(source: string, target: string): { line: number; column: number } {
  const lines = source.split("\n");
  const quoted = (q: string) => `${q}${target}${q}`;
  for (let i = 0; i < lines.length; i++) {
    const code = lines[i]!.replace(/\/\/.*$/, "");
    const col = code.search(/\bimport\b/);
    if (col >= 0 && (code.includes(quoted('"')) || code.includes(quoted("'")))) return { line: i + 1, column: col + 1 };
  }
  return { line: 1, column: 1 };
}

/** The file's syntax or edition, as the model spells it: proto2 (no statement), proto3, 2023, ... */
function syntaxOf(source: string): string {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  const m = /^\s*(syntax|edition)\s*=\s*["']([^"']*)["']/m.exec(code);
  return m === null ? "proto2" : m[2]!;
}

/**
 * protobuf.parse, able to read a `group` inside a `oneof` (protobuf's own unittest.proto has one).
 * protobufjs's parser handles such a group like any other: it makes the group's message type and
 * its field, and adds both to the enclosing element, here the oneof; but a oneof holds only fields
 * (`OneOf.add` throws "field must be a Field"). While parsing, a oneof keeps the group types given
 * to it and hands them to its message when the parser adds the oneof to that message, which is
 * where protoc declares them (a nested type of the message).
 */
function parseProto(source: string, root: protobuf.Root, options: protobuf.IParseOptions): protobuf.IParserResult {
  type Pending = protobuf.OneOf & { sgwireGroups?: protobuf.Type[] };
  const proto = protobuf.OneOf.prototype;
  const add = proto.add;
  const onAdd = (proto as unknown as { onAdd: (parent: protobuf.ReflectionObject) => void }).onAdd;
  proto.add = function (this: Pending, object: protobuf.Field) {
    const o = object as unknown;
    if (o instanceof protobuf.Type && (o as { group?: boolean }).group === true) {
      (this.sgwireGroups ??= []).push(o);
      return this;
    }
    return add.call(this, object);
  };
  (proto as unknown as { onAdd: (parent: protobuf.ReflectionObject) => void }).onAdd = function (this: Pending, parent) {
    if (parent instanceof protobuf.Type) for (const t of this.sgwireGroups ?? []) parent.add(t);
    delete this.sgwireGroups;
    onAdd.call(this, parent);
  };
  try {
    return protobuf.parse(source, root, options);
  } finally {
    proto.add = add;
    (proto as unknown as { onAdd: typeof onAdd }).onAdd = onAdd;
  }
}
