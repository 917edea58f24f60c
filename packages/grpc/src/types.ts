import type { AnyMethod, MethodType, ServiceMethods, ServiceType } from "@sgwire/core";
import type { Metadata } from "./metadata.js";
import type { Status } from "./status.js";

/** Options of one call on a client. */
export interface CallOptions {
  /** Custom request headers. */
  metadata?: Metadata;
  /**
   * When the call must be done by: a Date, or milliseconds from now. Sent as `grpc-timeout`; when
   * it passes, the call is cancelled and fails with DEADLINE_EXCEEDED.
   */
  deadline?: Date | number;
  /** Aborting it cancels the call (RST_STREAM CANCEL); it then fails with CANCELLED. */
  signal?: AbortSignal;
  /** Called with the response headers when they arrive. */
  onHeader?: (headers: Metadata) => void;
  /** Called with the trailers (and status) when the call ends, whatever the status. */
  onTrailer?: (trailers: Metadata, status: Status, message: string) => void;
}

/** What a server handler knows about its call, and how it adds headers and trailers. */
export interface ServerContext {
  /** The method being called. */
  readonly method: AnyMethod;
  /** The request's custom headers. */
  readonly metadata: Metadata;
  /** From the request's `grpc-timeout`, if it had one. */
  readonly deadline: Date | undefined;
  /** Aborted when the call ends early: the client cancelled, the deadline passed, the connection closed. */
  readonly signal: AbortSignal;
  /** The peer's address, "ip:port". */
  readonly peer: string;
  /** Headers to send before the first response message (sent with it, or with the trailers). */
  readonly responseHeader: Metadata;
  /** Trailers to send with the status. */
  readonly responseTrailer: Metadata;
  /** Sends the response headers now, merged with `responseHeader`. */
  sendHeader(headers?: Metadata): void;
}

/** Requests a client streams: any iterable or async iterable of messages. */
export type StreamInput<I> = AsyncIterable<I> | Iterable<I>;

/** The client-side function of a method. */
export type ClientMethod<M> =
  M extends MethodType<infer I, infer O, "unary"> ? (request: I, options?: CallOptions) => Promise<O>
  : M extends MethodType<infer I, infer O, "server_streaming"> ? (request: I, options?: CallOptions) => AsyncIterable<O>
  : M extends MethodType<infer I, infer O, "client_streaming"> ? (requests: StreamInput<I>, options?: CallOptions) => Promise<O>
  : M extends MethodType<infer I, infer O, "bidi_streaming"> ? (requests: StreamInput<I>, options?: CallOptions) => AsyncIterable<O>
  : never;

/** The server-side handler of a method. */
export type ServerMethod<M> =
  M extends MethodType<infer I, infer O, "unary"> ? (request: I, context: ServerContext) => O | Promise<O>
  : M extends MethodType<infer I, infer O, "server_streaming"> ? (request: I, context: ServerContext) => AsyncIterable<O> | Iterable<O>
  : M extends MethodType<infer I, infer O, "client_streaming"> ? (requests: AsyncIterable<I>, context: ServerContext) => O | Promise<O>
  : M extends MethodType<infer I, infer O, "bidi_streaming"> ? (requests: AsyncIterable<I>, context: ServerContext) => AsyncIterable<O> | Iterable<O>
  : never;

/** A client of service `S`: one function per method, by local name. */
export type Client<S extends ServiceType> = { readonly [K in keyof S["methods"]]: ClientMethod<S["methods"][K]> };

/** What a server needs to serve `S`: one handler per method, by local name. */
export type ServiceImplementation<S extends ServiceType> = { [K in keyof S["methods"]]: ServerMethod<S["methods"][K]> };

export type { ServiceMethods };

/** Throws a TypeError (naming `where`) unless `service` looks like a descriptor from defineService. */
export function assertService(service: unknown, where: string): asserts service is ServiceType {
  const s = service as ServiceType | null;
  if (s === null || typeof s !== "object" || typeof s.typeName !== "string" || s.methods === null || typeof s.methods !== "object") {
    throw new TypeError(`${where}: expected a service descriptor from defineService (generated code), got ${s === null ? "null" : typeof s}`);
  }
}
