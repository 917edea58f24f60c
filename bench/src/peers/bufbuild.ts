/**
 * @bufbuild/protobuf (protobuf-es) through its reflection API: the descriptors come from the same
 * bench.proto, turned into a FileDescriptorSet by protobufjs' descriptor extension and loaded
 * with `createFileRegistry`, so no protoc or buf binary is needed. This is the code path its
 * generated code takes too: `toBinary(schema, msg)` and `fromBinary(schema, bytes)` walk the
 * descriptor at run time. Messages are made with `create(schema, init)` outside the timed loop.
 */
import { createFileRegistry, create, fromBinary, toBinary, type DescMessage, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import descriptorExt from "protobufjs/ext/descriptor/index.js";
import type protobuf from "protobufjs";
import type { Workload } from "../shapes.js";
import { protobufjsRoot } from "./protobufjs.js";
import { packageVersion, received, type LibCase, type Peer } from "./peer.js";

interface DescriptorJson {
  name?: string;
  field?: { typeName?: string; type?: string }[];
  nestedType?: DescriptorJson[];
  options?: { mapEntry?: boolean };
}

/**
 * protobufjs writes message type names as they appear in the .proto (`Node`); descriptors want
 * them fully qualified (`.bench.Node`), so resolve each against the parsed root.
 */
function qualify(root: protobuf.Root, scope: string, msgs: DescriptorJson[] | undefined): void {
  for (const m of msgs ?? []) {
    const full = `${scope}.${m.name}`;
    const type = root.lookupType(full);
    for (const f of m.field ?? []) {
      // a map field: protobufjs names its entry type after the field ("Labels"), which no type
      // of the parsed root is; protobuf's convention is "LabelsEntry", nested in the message
      const entry = m.nestedType?.find((n) => n.options?.mapEntry === true && n.name === f.typeName);
      if (entry !== undefined) {
        entry.name = `${entry.name}Entry`;
        f.typeName = `.${full}.${entry.name}`;
        continue;
      }
      if (f.typeName !== undefined && !f.typeName.startsWith(".")) {
        const target = type.lookupTypeOrEnum(f.typeName);
        f.typeName = target.fullName; // protobufjs full names start with "."
      }
    }
    qualify(root, full, m.nestedType?.filter((n) => n.options?.mapEntry !== true));
  }
}

let registry: FileRegistry | undefined;
export function bufbuildRegistry(): FileRegistry {
  if (registry === undefined) {
    const root = protobufjsRoot();
    const set = (root as unknown as { toDescriptor(e: string): protobuf.Message & { file: { package?: string; messageType?: DescriptorJson[] }[] } }).toDescriptor("proto3");
    for (const file of set.file) qualify(root, file.package ?? "", file.messageType);
    const Fds = (descriptorExt as unknown as { FileDescriptorSet: protobuf.Type }).FileDescriptorSet;
    const bytes = Fds.encode(set).finish();
    registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes));
  }
  return registry;
}


export const bufbuildPeer: Peer = {
  name: "@bufbuild/protobuf",
  version: packageVersion("@bufbuild/protobuf"),
  cases(w: Workload): LibCase[] {
    const desc: DescMessage = bufbuildRegistry().getMessage(`bench.${w.type}`)!;
    const msg = create(desc, w.message as never);
    const wire = toBinary(desc, msg);
    const input = received(wire);
    return [
      { lib: "@bufbuild/protobuf", op: "encode", run: () => toBinary(desc, msg), bytesCopied: wire.length, segments: 1, wireBytes: wire.length, wire },
      { lib: "@bufbuild/protobuf", op: "decode", run: () => fromBinary(desc, input), decoded: () => fromBinary(desc, input) },
    ];
  },
};
