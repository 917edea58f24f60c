import type { MessageType } from "../codec/message.js";
import type { ServiceType } from "../codec/service.js";
import type { EnumType, FileInfo } from "./types.js";
import type { AnyExtension } from "./extension.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyMessageType = MessageType<any>;

/** What a Registry can hold; a FileInfo brings its types and extensions and those of the files it imports. */
export type RegistryItem = AnyMessageType | EnumType | ServiceType | AnyExtension | FileInfo | Registry;

/**
 * Types looked up by fully qualified name: what ProtoJSON needs for `google.protobuf.Any`, and a
 * generic tool (a JSON gateway, a pretty-printer) needs to find a type from a name it was given.
 */
export interface Registry {
  getMessage(typeName: string): AnyMessageType | undefined;
  getEnum(typeName: string): EnumType | undefined;
  getService(typeName: string): ServiceType | undefined;
  /** The extension with this fully qualified name ("pkg.my_ext"; ProtoJSON's "[pkg.my_ext]" without brackets). */
  getExtension(fullName: string): AnyExtension | undefined;
  /** The extension of message type `extendee` (fully qualified name) with field number `number`. */
  getExtensionFor(extendee: string, number: number): AnyExtension | undefined;
  /** Every message, enum, service and extension, in the order they were added. */
  [Symbol.iterator](): Iterator<AnyMessageType | EnumType | ServiceType | AnyExtension>;
}

function isFile(x: object): x is FileInfo {
  return "messages" in x && "enums" in x && "dependencies" in x;
}
function isRegistry(x: object): x is Registry {
  return "getMessage" in x && "getEnum" in x;
}
function isEnum(x: object): x is EnumType {
  return "values" in x && "closed" in x && "byNumber" in x;
}
function isService(x: object): x is ServiceType {
  return "methods" in x && "typeName" in x && !("fromBinary" in x);
}
function isExtension(x: object): x is AnyExtension {
  return "extendee" in x && "number" in x && "absent" in x;
}
function isMessage(x: object): x is AnyMessageType {
  return "fromBinary" in x && "typeName" in x;
}

/**
 * A registry of the given messages, enums, services, files (with the files they import) and other
 * registries. Two different types with one name are an error; the same type added twice is not.
 */
export function createRegistry(...items: RegistryItem[]): Registry {
  const messages = new Map<string, AnyMessageType>();
  const enums = new Map<string, EnumType>();
  const services = new Map<string, ServiceType>();
  const extensions = new Map<string, AnyExtension>();
  const byExtendee = new Map<string, AnyExtension>();
  const all: (AnyMessageType | EnumType | ServiceType | AnyExtension)[] = [];
  const files = new Set<FileInfo>();
  const put = <T extends { typeName: string }>(map: Map<string, T>, t: T): void => {
    const had = map.get(t.typeName);
    if (had === t) return;
    // a message and an enum cannot share a name either (services have their own namespace in gRPC)
    const other = (map as unknown) === messages ? enums : (map as unknown) === enums ? messages : undefined;
    if (had !== undefined || other?.has(t.typeName) === true) {
      throw new Error(`createRegistry: two different types are named "${t.typeName}"`);
    }
    map.set(t.typeName, t);
    all.push(t as unknown as AnyMessageType);
  };
  const putExtension = (x: AnyExtension): void => {
    const had = extensions.get(x.typeName);
    if (had === x) return;
    if (had !== undefined) throw new Error(`createRegistry: two different extensions are named "${x.typeName}"`);
    const key = `${x.extendee.typeName}:${x.number}`;
    const same = byExtendee.get(key);
    if (same !== undefined) {
      throw new Error(`createRegistry: extensions ${same.typeName} and ${x.typeName} both extend ${x.extendee.typeName} with field number ${x.number}`);
    }
    extensions.set(x.typeName, x);
    byExtendee.set(key, x);
    all.push(x);
  };
  const add = (x: RegistryItem): void => {
    if (typeof x !== "object" || x === null) {
      throw new TypeError(`createRegistry: expected a message type, enum, service, extension, file or registry, got ${x === null ? "null" : typeof x}`);
    }
    if (isFile(x)) {
      if (files.has(x)) return;
      files.add(x);
      for (const d of x.dependencies) add(d);
      for (const m of x.messages) put(messages, m);
      for (const e of x.enums) put(enums, e);
      for (const sv of x.services) put(services, sv);
      for (const ext of x.extensions ?? []) putExtension(ext);
    } else if (isRegistry(x)) {
      for (const t of x) add(t);
    } else if (isMessage(x)) put(messages, x);
    else if (isEnum(x)) put(enums, x);
    else if (isService(x)) put(services, x);
    else if (isExtension(x)) putExtension(x);
    else throw new TypeError("createRegistry: expected a message type, enum, service, extension, file or registry");
  };
  for (const x of items) add(x);
  return {
    getMessage: (n) => messages.get(n),
    getEnum: (n) => enums.get(n),
    getService: (n) => services.get(n),
    getExtension: (n) => extensions.get(n),
    getExtensionFor: (extendee, number) => byExtendee.get(`${extendee}:${number}`),
    [Symbol.iterator]: () => all[Symbol.iterator](),
  };
}
