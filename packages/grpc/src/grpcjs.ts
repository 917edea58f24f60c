/**
 * sgwire codecs for @grpc/grpc-js: a service definition that grpc-js servers and generic clients
 * accept wherever a definition from @grpc/proto-loader or protoc-gen-grpc would go, so a team
 * already on grpc-js can switch to sgwire message by message without changing transport.
 *
 * This module has no runtime or type-level dependency on @grpc/grpc-js: the shapes below are
 * structural copies of grpc-js's `MethodDefinition` and `ServiceDefinition`, so programs that never
 * use grpc-js type-check without installing it.
 */
import { EncodeError, type AnyMethod, type MessageType, type MethodType, type ServiceType } from "@sgwire/core";
import { assertService } from "./types.js";

/** grpc-js's `Serialize<T>`: a message to the bytes of one gRPC message. */
export type GrpcJsSerialize<T> = (value: T) => Buffer;
/** grpc-js's `Deserialize<T>`: the bytes of one gRPC message to a message. */
export type GrpcJsDeserialize<T> = (bytes: Buffer) => T;

/** A grpc-js `MethodDefinition<I, O>` (structurally). */
export interface GrpcJsMethodDefinition<I, O> {
  /** `/<service>/<method>` */
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize: GrpcJsSerialize<I>;
  requestDeserialize: GrpcJsDeserialize<I>;
  responseSerialize: GrpcJsSerialize<O>;
  responseDeserialize: GrpcJsDeserialize<O>;
  /**
   * The method's name in the .proto ("GetValue"): grpc-js also looks the server handler up by it,
   * and generic clients get a method of that name too.
   */
  originalName: string;
}

/** A grpc-js `ServiceDefinition` for service `S` (structurally): one method definition per local name. */
export type GrpcJsServiceDefinition<S extends ServiceType> = {
  readonly [K in keyof S["methods"]]: S["methods"][K] extends MethodType<infer I, infer O> ? GrpcJsMethodDefinition<I, O> : never;
};

/** A serializer and a deserializer of one message type, in grpc-js's shapes. */
export interface GrpcJsCodecs<T> {
  serialize: GrpcJsSerialize<T>;
  deserialize: GrpcJsDeserialize<T>;
}

const cache = new WeakMap<MessageType<unknown>, GrpcJsCodecs<unknown>>();

/**
 * grpc-js `serialize`/`deserialize` functions for the sgwire message type `type`.
 *
 * `serialize` copies ONCE: grpc-js wants each message as one contiguous Buffer, so the message
 * (referenced bytes fields included) is written with `encodeInto` into a Buffer of exactly
 * `encodedSize(msg)` bytes, from `Buffer.allocUnsafe` (no zero-fill, and no intermediate buffer).
 * grpc-js then copies it again into its own frame. The sgwire transport (`createClient`,
 * `GrpcServer`) avoids this copy by writing the message's segments as they are.
 *
 * `deserialize` copies nothing: the message is decoded with `fromBinary` from the Buffer grpc-js
 * hands over, so bytes fields are views of that Buffer (valid as long as the message is kept;
 * grpc-js does not reuse it).
 *
 * The functions throw the codec's EncodeError or DecodeError, which name the message type;
 * grpc-js turns them into an INTERNAL status for the call.
 */
export function grpcJsCodecs<T>(type: MessageType<T>): GrpcJsCodecs<T> {
  if (type === null || typeof type !== "object" || typeof type.encodeInto !== "function" || typeof type.fromBinary !== "function") {
    throw new TypeError(`grpcJsCodecs: expected a generated sgwire message type, got ${type === null ? "null" : typeof type}`);
  }
  const cached = cache.get(type as MessageType<unknown>);
  if (cached !== undefined) return cached as GrpcJsCodecs<T>;
  const typeName = type.typeName;
  const codecs: GrpcJsCodecs<T> = {
    serialize(value: T): Buffer {
      const size = type.encodedSize(value);
      const out = Buffer.allocUnsafe(size);
      const end = type.encodeInto(value, out, 0);
      // encodeInto measures again: a message changed between the two passes (a getter, a Proxy)
      // would leave bytes of the Buffer unwritten, and those are uninitialized memory
      if (end !== size) throw new EncodeError(`the message changed while it was serialized (${size} bytes measured, ${end} written)`, typeName);
      return out;
    },
    deserialize(bytes: Buffer): T {
      return type.fromBinary(bytes);
    },
  };
  cache.set(type as MessageType<unknown>, codecs as GrpcJsCodecs<unknown>);
  return codecs;
}

/**
 * A @grpc/grpc-js service definition of `service` with sgwire codecs (see `grpcJsCodecs`): pass it
 * to `grpc.Server#addService(def, impl)` (handlers looked up by local name, "getValue", or by
 * the .proto name, "GetValue") or to `grpc.makeGenericClientConstructor(def, serviceName)`.
 * Keys are the methods' local names, as on sgwire's own clients.
 */
export function toGrpcJsService<S extends ServiceType>(service: S): GrpcJsServiceDefinition<S> {
  assertService(service, "toGrpcJsService");
  const out: Record<string, GrpcJsMethodDefinition<unknown, unknown>> = {};
  for (const [localName, m] of Object.entries(service.methods as Record<string, AnyMethod>)) {
    const input = grpcJsCodecs(m.input as MessageType<unknown>);
    const output = grpcJsCodecs(m.output as MessageType<unknown>);
    out[localName] = {
      path: m.path,
      requestStream: m.requestStream,
      responseStream: m.responseStream,
      requestSerialize: input.serialize,
      requestDeserialize: input.deserialize,
      responseSerialize: output.serialize,
      responseDeserialize: output.deserialize,
      originalName: m.name,
    };
  }
  return out as GrpcJsServiceDefinition<S>;
}
