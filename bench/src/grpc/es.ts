/**
 * protobuf-es (@bufbuild/protobuf 2.x) codecs for the benchmark's messages, the way bench's codec
 * peer makes them (src/peers/bufbuild.ts): descriptors built at run time from the same
 * grpc-bench.proto (protobufjs' descriptor extension writes a FileDescriptorSet, and
 * `createFileRegistry` loads it), so no protoc plugin is needed. protobuf-es' generated code takes
 * this same path: `toBinary(schema, msg)` and `fromBinary(schema, bytes)` walk the descriptor.
 */
import { createFileRegistry, fromBinary, type DescMessage } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import protobuf from "protobufjs";
import descriptorExt from "protobufjs/ext/descriptor/index.js";

/** bench/schemas/grpc-bench.proto */
export const GRPC_BENCH_PROTO = new URL("../../schemas/grpc-bench.proto", import.meta.url).pathname;

export interface EsSchemas {
  GetBlobRequest: DescMessage;
  GetBlobResponse: DescMessage;
  SmallRequest: DescMessage;
  SmallResponse: DescMessage;
}

let schemas: EsSchemas | undefined;

/** The protobuf-es message descriptors of grpc-bench.proto. */
export function esSchemas(): EsSchemas {
  if (schemas !== undefined) return schemas;
  const root = new protobuf.Root();
  root.loadSync(GRPC_BENCH_PROTO);
  root.resolveAll();
  type FileJson = { package?: string; service?: unknown[]; messageType?: { field?: { typeName?: string }[] }[] };
  const set = (root as unknown as { toDescriptor(e: string): { file: FileJson[] } }).toDescriptor("proto3");
  for (const file of set.file) {
    // only the messages are needed (grpc-js carries the service); every field is a scalar, so no
    // type name needs qualifying: check that stays true
    file.service = [];
    for (const m of file.messageType ?? []) {
      for (const f of m.field ?? []) if (f.typeName) throw new Error(`grpc-bench.proto: es.ts expects scalar fields only, found a field of type ${f.typeName}`);
    }
  }
  const Fds = (descriptorExt as unknown as { FileDescriptorSet: protobuf.Type }).FileDescriptorSet;
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, Fds.encode(set as never).finish()));
  const get = (name: string): DescMessage => {
    const d = registry.getMessage(`grpcbench.${name}`);
    if (d === undefined) throw new Error(`grpc-bench.proto: no message grpcbench.${name} in the protobuf-es registry`);
    return d;
  };
  schemas = { GetBlobRequest: get("GetBlobRequest"), GetBlobResponse: get("GetBlobResponse"), SmallRequest: get("SmallRequest"), SmallResponse: get("SmallResponse") };
  return schemas;
}
