import type { MessageType } from "../codec/message.js";
import type { ServiceType } from "../codec/service.js";
import type { EnumType, FileInfo } from "./types.js";
import type { AnyExtension } from "./extension.js";

/** What generated code passes to defineFile. */
export interface FileSpec {
  name: string;
  package: string;
  syntax: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  messages: MessageType<any>[];
  enums: EnumType[];
  services?: ServiceType[];
  extensions?: AnyExtension[];
  dependencies: FileInfo[];
}

/** Builds a file's description; generated code calls it (`$file`). */
export function defineFile(spec: FileSpec): FileInfo {
  return Object.freeze({
    name: spec.name,
    package: spec.package,
    syntax: spec.syntax,
    messages: Object.freeze([...spec.messages]),
    enums: Object.freeze([...spec.enums]),
    services: Object.freeze([...(spec.services ?? [])]),
    extensions: Object.freeze([...(spec.extensions ?? [])]),
    dependencies: Object.freeze([...spec.dependencies]),
  });
}
