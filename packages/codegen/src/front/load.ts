import { readFileSync } from "node:fs";
import protobuf from "protobufjs";
import { escapeNames } from "./escape-names.js";

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
 * `resolveImport` maps an import to a path, as Root.resolvePath does.
 */
export function loadFiles(
  root: protobuf.Root,
  files: string[],
  options: protobuf.IParseOptions,
  resolveImport: (origin: string, target: string) => string | null,
): void {
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
      root.addJSON(bundled.nested ?? {});
      stamp(root, file);
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
    const parsed = parseProto(escapeNames(source), root, options);
    stamp(root, file);
    const imports: [string, boolean][] = [
      ...(parsed.imports ?? []).map((i): [string, boolean] => [i, false]),
      ...(parsed.weakImports ?? []).map((i): [string, boolean] => [i, true]),
    ];
    for (const [target, isWeak] of imports) {
      const resolved = bundledName(target) ?? resolveImport(file, target);
      if (resolved !== null) fetch(resolved, isWeak);
    }
  };

  for (const f of files) {
    const resolved = resolveImport("", f);
    if (resolved !== null) fetch(resolved, false);
  }
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
