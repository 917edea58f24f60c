import type { MessageType } from "./message.js";

/**
 * How a method exchanges messages: one request and one response (`unary`), one request and a
 * stream of responses (`server_streaming`), a stream of requests and one response
 * (`client_streaming`), or a stream each way (`bidi_streaming`).
 */
export type MethodKind = "unary" | "server_streaming" | "client_streaming" | "bidi_streaming";

/** `option idempotency_level` of a method, when the .proto sets one. */
export type MethodIdempotency = "no_side_effects" | "idempotent";

/** What `defineService` needs per method; the generated code writes these. */
export interface MethodInit<I, O, K extends MethodKind = MethodKind> {
  /** The method's name in the .proto, e.g. "GetValue". */
  readonly name: string;
  readonly kind: K;
  readonly input: MessageType<I>;
  readonly output: MessageType<O>;
  readonly idempotency?: MethodIdempotency;
}

/** A method of a service, as generated from a `.proto` `rpc` definition. */
export interface MethodType<I, O, K extends MethodKind = MethodKind> extends MethodInit<I, O, K> {
  /**
   * The method's name on generated clients and server interfaces: `name` with a lower-case first
   * letter ("getValue"), and a `$` appended where that would clash with a property every object
   * has ("constructor$").
   */
  readonly localName: string;
  /** The fully qualified name of the service that holds it, e.g. "kv.Kv". */
  readonly serviceName: string;
  /** `/<service>/<method>`: the gRPC request path, e.g. "/kv.Kv/GetValue". */
  readonly path: string;
  /** true for `client_streaming` and `bidi_streaming` */
  readonly requestStream: boolean;
  /** true for `server_streaming` and `bidi_streaming` */
  readonly responseStream: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMethod = MethodType<any, any, MethodKind>;

/** The methods of a service, by `localName`. */
export type ServiceMethods = { readonly [localName: string]: AnyMethod };

/** A service, as generated from a `.proto` `service` definition. */
export interface ServiceType<M extends ServiceMethods = ServiceMethods> {
  /** Fully qualified protobuf name, e.g. "kv.Kv". */
  readonly typeName: string;
  /** The methods by `localName`, in declaration order. */
  readonly methods: M;
}

const KINDS: ReadonlySet<string> = new Set(["unary", "server_streaming", "client_streaming", "bidi_streaming"]);
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const QUALIFIED = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** The `localName` of a method named `name` in the .proto (see MethodType.localName). */
export function methodLocalName(name: string): string {
  const lower = name.charAt(0).toLowerCase() + name.slice(1);
  return lower in Object.prototype || lower === "then" ? lower + "$" : lower;
}

type InitsOf<M extends ServiceMethods> = {
  readonly [K in keyof M]: M[K] extends MethodType<infer I, infer O, infer Kd> ? MethodInit<I, O, Kd> : never;
};

/**
 * Builds a service descriptor from its methods (keyed by `localName`). Called by generated code;
 * throws a TypeError naming what is wrong if a method is malformed.
 */
export function defineService<M extends ServiceMethods>(typeName: string, methods: InitsOf<M>): ServiceType<M> {
  if (typeof typeName !== "string" || !QUALIFIED.test(typeName)) {
    throw new TypeError(`defineService: service name ${JSON.stringify(typeName)} is not a qualified protobuf name`);
  }
  const out: Record<string, AnyMethod> = {};
  const paths = new Set<string>();
  for (const [localName, init] of Object.entries(methods as Record<string, MethodInit<unknown, unknown>>)) {
    const where = `defineService(${typeName}).${localName}`;
    if (init === null || typeof init !== "object") throw new TypeError(`${where}: expected a method, got ${init === null ? "null" : typeof init}`);
    if (typeof init.name !== "string" || !IDENT.test(init.name)) throw new TypeError(`${where}: method name ${JSON.stringify(init.name)} is not a protobuf identifier`);
    if (!KINDS.has(init.kind)) throw new TypeError(`${where}: kind ${JSON.stringify(init.kind)} is not one of ${[...KINDS].join(", ")}`);
    for (const side of ["input", "output"] as const) {
      const t = init[side];
      if (t === null || typeof t !== "object" || typeof t.encode !== "function" || typeof t.fromBinary !== "function") {
        throw new TypeError(`${where}: ${side} is not a generated message type`);
      }
    }
    const path = `/${typeName}/${init.name}`;
    if (paths.has(path)) throw new TypeError(`${where}: a second method named ${init.name}`);
    paths.add(path);
    out[localName] = Object.freeze({
      name: init.name,
      localName,
      kind: init.kind,
      input: init.input,
      output: init.output,
      ...(init.idempotency !== undefined ? { idempotency: init.idempotency } : {}),
      serviceName: typeName,
      path,
      requestStream: init.kind === "client_streaming" || init.kind === "bidi_streaming",
      responseStream: init.kind === "server_streaming" || init.kind === "bidi_streaming",
    });
  }
  return Object.freeze({ typeName, methods: Object.freeze(out) as unknown as M });
}
