/**
 * A gRPC server on node:http2 (h2c or h2 over TLS) serving sgwire services: requests decode into
 * views of the received DATA chunks, responses are written as their scatter-gather segments.
 */
import * as http2 from "node:http2";
import type { Http2SecureServer, Http2Server, IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Session, ServerHttp2Stream, ServerStreamResponseOptions, Settings } from "node:http2";
import type { AnyMethod, ServiceType } from "@sgwire/core";
import { DEFAULT_MAX_RECEIVE_MESSAGE_BYTES, MAX_MESSAGE_LENGTH, MessageReader, encodeMessage, writeSgList } from "./frame.js";
import { encodeGrpcMessage, metadataFromRawHeaders, metadataToHeaders, parseTimeout } from "./headers.js";
import { Metadata } from "./metadata.js";
import { MAX_TIMER_MS, keepaliveSettings, watchSession, type Keepalive, type KeepaliveOption } from "./keepalive.js";
import { GrpcError, Status } from "./status.js";
import { assertService, type ServerContext, type ServiceImplementation } from "./types.js";

const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL } = http2.constants;

/** Options of a GrpcServer. */
export interface ServerOptions {
  /** Largest request message accepted (bytes, default 4 MiB); a larger one fails its call with RESOURCE_EXHAUSTED. */
  maxReceiveMessageBytes?: number;
  /** Largest response message sent (bytes, default: no limit but the 4 GiB of the prefix); a larger one fails its call with RESOURCE_EXHAUSTED. */
  maxSendMessageBytes?: number;
  /** HTTP/2 settings the server announces (initialWindowSize, maxConcurrentStreams, ...). */
  settings?: Settings;
  /**
   * Called with every error a handler throws (or rejects with, or its response stream throws)
   * that is not a GrpcError: such a call ends with UNKNOWN and a generic message, so this is where
   * the error itself can be logged. Never called for GrpcErrors or cancellations.
   */
  onError?: (error: unknown, method: AnyMethod) => void;
  /**
   * Connection health checks: a connection with no traffic for `idleMs` (default 60000) gets a
   * PING, and is closed if the answer does not come within `timeoutMs` (default 20000). Live
   * clients answer (HTTP/2 requires it), so idle connections and quiet long calls stay; what this
   * ends are dead connections node:http2 would keep forever (a peer that breaks the protocol in
   * some ways stops node:http2 reading its connection, so even its TCP close goes unnoticed, and
   * its calls stay active). `false` turns the checks off.
   */
  keepalive?: KeepaliveOption;
}

/** Where and how a GrpcServer listens. */
export interface ListenOptions {
  /** Address to bind (default "127.0.0.1"; "0.0.0.0" or "::" for every interface). */
  host?: string;
  /** Port; 0 picks a free one (see the resolved address). */
  port: number;
  /** Serve h2 over TLS (ALPN "h2") with this key and certificate instead of cleartext h2c. */
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer | (string | Buffer)[] };
}

/** Counters of a GrpcServer since it was made. */
export interface ServerStats {
  /** Calls dispatched to a handler. */
  calls: number;
  /** Calls dispatched and not ended yet. */
  active: number;
  /** Calls that ended with status OK. */
  ok: number;
  /** Calls that ended with any other status, cancelled ones included. */
  failed: number;
  /** Of the failed calls: cancelled by the client, the connection or a forced close. */
  cancelled: number;
  /** Requests refused before reaching a handler: not POST, bad content-type, unknown method, unsupported grpc-encoding, malformed grpc-timeout. */
  badRequests: number;
  /** Response messages a handler produced after its call had ended (cancelled, deadline passed): not sent. */
  droppedWrites: number;
}

interface Route {
  readonly method: AnyMethod;
  readonly handler: (...args: unknown[]) => unknown;
  readonly self: object;
}

/** What every call of a server shares with it. */
interface Shared {
  /** the counters; `active` is derived from `calls` */
  readonly stats: Omit<ServerStats, "active">;
  readonly calls: Set<ServerCall>;
  readonly maxReceive: number;
  readonly maxSend: number;
  readonly onError: ((error: unknown, method: AnyMethod) => void) | undefined;
  /** set by forceClose: the reason calls ended by it get */
  shutdown: boolean;
  /** called when `calls` becomes empty */
  idle: (() => void) | null;
}

function noop(): void {}

// respond() options (node:http2 copies them); sendDate: false leaves out the `date` header, which
// gRPC does not use (node:http2 takes the option, its type declarations do not list it)
const RESPOND_END = { endStream: true, sendDate: false } as ServerStreamResponseOptions;
const RESPOND_STREAMING = { waitForTrailers: true, sendDate: false } as ServerStreamResponseOptions;
// the headers and trailers of a call without metadata: shared, frozen (node:http2 copies them)
const OK_HEADERS: OutgoingHttpHeaders = Object.freeze({ ":status": 200, "content-type": "application/grpc" });
const OK_TRAILERS: OutgoingHttpHeaders = Object.freeze({ "grpc-status": "0" });

const CONTENT_TYPES = new Set(["application/grpc", "application/grpc+proto"]);

/** Whether a request's content-type is one this server speaks (parameters after ';' are allowed). */
function contentTypeOk(ct: string | undefined): boolean {
  if (ct === undefined) return false;
  if (CONTENT_TYPES.has(ct)) return true;
  // media types are case-insensitive and may carry parameters
  const semi = ct.indexOf(";");
  return CONTENT_TYPES.has((semi >= 0 ? ct.slice(0, semi) : ct).trim().toLowerCase());
}

/** Never lets a throw out: for calls into node:http2 on a stream the peer may have reset meanwhile. */
function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // the stream is gone: nothing to send it any more
  }
}

/** Ends a request that never reaches a handler: a trailers-only response, then the request side is reset if still open. */
function refuse(stream: ServerHttp2Stream, httpStatus: number, code: Status, details: string, extra?: OutgoingHttpHeaders): void {
  safely(() => {
    if (stream.destroyed || stream.headersSent) return;
    stream.respond({
      ":status": httpStatus,
      "content-type": "application/grpc",
      ...extra,
      "grpc-status": String(code),
      "grpc-message": encodeGrpcMessage(details),
    }, RESPOND_END);
    if (!stream.readableEnded) stream.close(NGHTTP2_NO_ERROR);
  });
}

/**
 * A gRPC server: add services with `addService`, then `listen`. Speaks the gRPC HTTP/2 protocol
 * (identity encoding only; other encodings are refused with UNIMPLEMENTED), for the four method
 * kinds, with metadata, deadlines, cancellation and HTTP/2 flow control in both directions.
 * Nothing a peer sends can throw out of it: a malformed call ends with a status and the server
 * keeps serving.
 */
export class GrpcServer {
  readonly #routes = new Map<string, Route>();
  readonly #shared: Shared;
  readonly #settings: Settings | undefined;
  readonly #keepalive: Keepalive;
  #server: Http2Server | Http2SecureServer | null = null;
  readonly #sessions = new Set<ServerHttp2Session>();
  #address: { host: string; port: number } | undefined;
  #closing: Promise<void> | null = null;

  constructor(options: ServerOptions = {}) {
    if (options === null || typeof options !== "object") throw new TypeError(`GrpcServer: options must be an object, got ${options === null ? "null" : typeof options}`);
    const maxReceive = options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_MESSAGE_BYTES;
    const maxSend = options.maxSendMessageBytes ?? MAX_MESSAGE_LENGTH;
    for (const [name, v] of [["maxReceiveMessageBytes", maxReceive], ["maxSendMessageBytes", maxSend]] as const) {
      if (!Number.isInteger(v) || v < 0 || v > MAX_MESSAGE_LENGTH) {
        throw new RangeError(`GrpcServer: ${name} must be an integer from 0 to ${MAX_MESSAGE_LENGTH}, got ${String(v)}`);
      }
    }
    if (options.onError !== undefined && typeof options.onError !== "function") throw new TypeError("GrpcServer: onError must be a function");
    if (options.settings !== undefined) {
      try {
        http2.getPackedSettings(options.settings);
      } catch (err) {
        throw new RangeError(`GrpcServer: settings: ${(err as Error).message}`);
      }
    }
    this.#settings = options.settings;
    this.#keepalive = keepaliveSettings("GrpcServer", options.keepalive, 60_000);
    this.#shared = {
      stats: { calls: 0, ok: 0, failed: 0, cancelled: 0, badRequests: 0, droppedWrites: 0 },
      calls: new Set(),
      maxReceive,
      maxSend,
      onError: options.onError,
      shutdown: false,
      idle: null,
    };
  }

  /**
   * Serves `service` with `impl`: one handler per method, by the method's local name. Throws a
   * TypeError naming the method whose handler is missing, or a method path already served.
   * Requests for paths no added service has end with UNIMPLEMENTED.
   */
  addService<S extends ServiceType>(service: S, impl: ServiceImplementation<S>): this {
    assertService(service, "GrpcServer.addService");
    const where = `GrpcServer.addService(${service.typeName})`;
    if (impl === null || typeof impl !== "object") throw new TypeError(`${where}: the implementation must be an object of handlers, got ${impl === null ? "null" : typeof impl}`);
    const routes: Route[] = [];
    for (const [localName, method] of Object.entries(service.methods as Record<string, AnyMethod>)) {
      const handler = (impl as Record<string, unknown>)[localName];
      if (typeof handler !== "function") {
        throw new TypeError(`${where}: no handler for method ${method.name} (implementation.${localName} is ${handler === undefined ? "missing" : typeof handler}, expected a function)`);
      }
      if (this.#routes.has(method.path)) throw new TypeError(`${where}: method ${method.path} is already served`);
      routes.push({ method, handler: handler as Route["handler"], self: impl });
    }
    for (const r of routes) this.#routes.set(r.method.path, r);
    return this;
  }

  /**
   * Starts listening: cleartext h2c, or h2 over TLS when `tls` is given. Resolves with the bound
   * address (the port chosen when `port` is 0).
   */
  listen(opts: ListenOptions): Promise<{ host: string; port: number }> {
    if (opts === null || typeof opts !== "object") return Promise.reject(new TypeError("GrpcServer.listen: expected { host?, port, tls? }"));
    const { port, host = "127.0.0.1", tls } = opts;
    if (!Number.isInteger(port) || port < 0 || port > 65535) return Promise.reject(new RangeError(`GrpcServer.listen: port must be an integer from 0 to 65535, got ${String(port)}`));
    if (typeof host !== "string" || host === "") return Promise.reject(new TypeError(`GrpcServer.listen: host must be a non-empty string, got ${JSON.stringify(host)}`));
    if (this.#server !== null) return Promise.reject(new Error("GrpcServer.listen: the server is already listening (close it first)"));
    const settings = this.#settings;
    let server: Http2Server | Http2SecureServer;
    if (tls !== undefined) {
      if (tls === null || typeof tls !== "object" || tls.key === undefined || tls.cert === undefined) {
        return Promise.reject(new TypeError("GrpcServer.listen: tls needs { key, cert } (PEM)"));
      }
      server = http2.createSecureServer({ key: tls.key, cert: tls.cert, ...(tls.ca !== undefined ? { ca: tls.ca } : {}), allowHTTP1: false, ALPNProtocols: ["h2"], ...(settings ? { settings } : {}) });
    } else {
      server = http2.createServer(settings ? { settings } : {});
    }
    this.#server = server;
    this.#closing = null;
    this.#shared.shutdown = false;
    server.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: string[]) => this.#onStream(stream, headers, raw));
    server.on("session", (session: ServerHttp2Session) => {
      this.#sessions.add(session);
      session.on("error", noop); // a peer's protocol error ends its session, never the process
      session.once("close", () => this.#sessions.delete(session));
      // every quiet connection is suspect: a live client answers
      watchSession(session, this.#keepalive, () => true, () => {});
      if (this.#closing !== null) safely(() => session.close());
    });
    server.on("sessionError", noop);
    return new Promise((resolve, reject) => {
      const onListenError = (err: Error) => {
        this.#server = null;
        reject(err);
      };
      server.once("error", onListenError);
      server.listen(port, host, () => {
        server.off("error", onListenError);
        server.on("error", noop); // accept errors (EMFILE ...) later: keep serving the connections we have
        const a = server.address();
        this.#address = a !== null && typeof a === "object" ? { host: a.address, port: a.port } : { host, port };
        resolve({ ...this.#address });
      });
    });
  }

  /** The address the server listens on, or undefined when it is not listening. */
  get address(): { host: string; port: number } | undefined {
    return this.#address === undefined ? undefined : { ...this.#address };
  }

  /** A snapshot of the server's counters. */
  get stats(): ServerStats {
    return { ...this.#shared.stats, active: this.#shared.calls.size };
  }

  /**
   * Stops accepting connections and calls (existing connections get a GOAWAY), lets the calls in
   * progress finish, and resolves once every connection has closed. With `graceMs`, calls still
   * running after that long are cancelled (as forceClose does); without it, close waits for them.
   */
  close(graceMs?: number): Promise<void> {
    if (graceMs !== undefined && !(graceMs >= 0)) return Promise.reject(new RangeError(`GrpcServer.close: graceMs must be a number >= 0, got ${String(graceMs)}`));
    const server = this.#server;
    if (server === null) return Promise.resolve();
    if (this.#closing !== null) return this.#closing;
    this.#closing = (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of this.#sessions) safely(() => s.close());
      if (graceMs !== undefined && this.#shared.calls.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        const idle = new Promise<void>((resolve) => {
          this.#shared.idle = resolve;
          timer = setTimeout(resolve, graceMs);
        });
        await idle;
        clearTimeout(timer);
        this.#shared.idle = null;
        if (this.#shared.calls.size > 0) this.forceClose();
      }
      await closed;
      if (this.#server === server) {
        this.#server = null;
        this.#address = undefined;
      }
    })();
    return this.#closing;
  }

  /**
   * Closes now: every call in progress is cancelled (its context.signal aborts, the client sees
   * the connection go) and every connection is destroyed.
   */
  forceClose(): void {
    const server = this.#server;
    if (server === null) return;
    this.#shared.shutdown = true;
    for (const call of [...this.#shared.calls]) call.cancel();
    for (const s of [...this.#sessions]) safely(() => s.destroy());
    if (this.#closing === null) {
      this.#closing = new Promise<void>((resolve) => server.close(() => resolve())).then(() => {
        if (this.#server === server) {
          this.#server = null;
          this.#address = undefined;
        }
      });
    }
    this.#server = null;
    this.#address = undefined;
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, raw: string[]): void {
    stream.on("error", noop);
    const stats = this.#shared.stats;
    try {
      if (headers[":method"] !== "POST") {
        stats.badRequests++;
        refuse(stream, 405, Status.INTERNAL, `gRPC requests use POST, not ${String(headers[":method"])}`, { allow: "POST" });
        return;
      }
      const ct = headers["content-type"];
      if (!contentTypeOk(ct)) {
        stats.badRequests++;
        refuse(stream, 415, Status.INTERNAL, `content-type ${ct === undefined ? "missing" : JSON.stringify(ct)}: this server takes application/grpc and application/grpc+proto`);
        return;
      }
      const path = headers[":path"];
      const route = path === undefined ? undefined : this.#routes.get(path);
      if (route === undefined) {
        stats.badRequests++;
        refuse(stream, 200, Status.UNIMPLEMENTED, `method ${String(path)} is not implemented by this server`);
        return;
      }
      const enc = headers["grpc-encoding"];
      if (enc !== undefined && enc !== "identity") {
        stats.badRequests++;
        refuse(stream, 200, Status.UNIMPLEMENTED, `grpc-encoding ${JSON.stringify(enc)} is not supported: this server takes identity only`, { "grpc-accept-encoding": "identity" });
        return;
      }
      const timeoutHeader = headers["grpc-timeout"];
      let timeout: number | undefined;
      if (timeoutHeader !== undefined) {
        timeout = parseTimeout(timeoutHeader as string);
        if (timeout === undefined) {
          stats.badRequests++;
          refuse(stream, 200, Status.INTERNAL, `malformed grpc-timeout ${JSON.stringify(timeoutHeader)}`);
          return;
        }
      }
      if (stream.destroyed) return;
      new ServerCall(this.#shared, stream, route, raw, timeout).start();
    } catch {
      // nothing above throws on peer input; should it anyway, that stream ends, not the process
      safely(() => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    }
  }
}

/** Per-call state bits. */
const HEADERS_SENT = 1;
/** the final status was decided (sent or being sent), or the call was cancelled */
const DONE = 2;
/** the handler has finished (returned, threw, or its response stream ended) */
const HANDLER_DONE = 4;

/** Pause reading a request stream once this many bytes of decoded messages wait for the handler. */
const QUEUE_HIGH_BYTES = 64 * 1024;
/** ... or this many messages. */
const QUEUE_HIGH_COUNT = 64;

/**
 * One call: the ServerContext its handler sees, and the glue between the HTTP/2 stream and the
 * handler. Created per request, so it allocates what it needs lazily (metadata, AbortController,
 * response metadata).
 */
class ServerCall implements ServerContext {
  readonly #shared: Shared;
  readonly #stream: ServerHttp2Stream;
  /** kept for `peer`: a stream forgets its session once closed */
  readonly #session: http2.Http2Session | undefined;
  readonly #route: Route;
  readonly #raw: string[];
  readonly deadline: Date | undefined;
  #flags = 0;
  #timer: NodeJS.Timeout | undefined;
  #abort: AbortController | null = null;
  #abortReason: GrpcError | null = null;
  #metadata: Metadata | null = null;
  #responseHeader: Metadata | null = null;
  #responseTrailer: Metadata | null = null;
  #trailers: OutgoingHttpHeaders | null = null;
  #reader: MessageReader | null = null;
  /** unary and server streaming: the request's bytes */
  #single: Uint8Array | null = null;
  /** client and bidi streaming: the requests */
  #requests: RequestStream<unknown> | null = null;
  #drainWaiter: (() => void) | null = null;

  constructor(shared: Shared, stream: ServerHttp2Stream, route: Route, raw: string[], timeoutMs: number | undefined) {
    this.#shared = shared;
    this.#stream = stream;
    this.#session = stream.session;
    this.#route = route;
    this.#raw = raw;
    if (timeoutMs !== undefined) {
      this.deadline = new Date(Date.now() + timeoutMs);
      if (timeoutMs <= MAX_TIMER_MS) this.#timer = setTimeout(() => this.#onDeadline(), timeoutMs);
    } else {
      this.deadline = undefined;
    }
  }

  // --- ServerContext -----------------------------------------------------------------------

  get method(): AnyMethod {
    return this.#route.method;
  }

  get metadata(): Metadata {
    return (this.#metadata ??= metadataFromRawHeaders(this.#raw));
  }

  get signal(): AbortSignal {
    if (this.#abort === null) {
      this.#abort = new AbortController();
      if (this.#abortReason !== null) this.#abort.abort(this.#abortReason);
    }
    return this.#abort.signal;
  }

  get peer(): string {
    let s: import("node:net").Socket | undefined;
    try {
      s = this.#session?.socket;
    } catch {
      s = undefined; // a destroyed session has no socket
    }
    const addr = s?.remoteAddress;
    if (addr === undefined) return "unknown";
    return addr.includes(":") ? `[${addr}]:${s!.remotePort}` : `${addr}:${s!.remotePort}`;
  }

  get responseHeader(): Metadata {
    return (this.#responseHeader ??= new Metadata());
  }

  get responseTrailer(): Metadata {
    return (this.#responseTrailer ??= new Metadata());
  }

  sendHeader(headers?: Metadata): void {
    if (this.#flags & DONE) return;
    if (this.#flags & HEADERS_SENT) throw new Error(`sendHeader: the response headers of ${this.#route.method.path} were already sent`);
    if (headers !== undefined) for (const [k, v] of headers) this.responseHeader.add(k, v);
    this.#sendHeaders();
  }

  // --- the call ----------------------------------------------------------------------------

  start(): void {
    const shared = this.#shared;
    shared.stats.calls++;
    shared.calls.add(this);
    const stream = this.#stream;
    // each fires once per stream: plain listeners (no once() wrapper per call)
    stream.on("close", () => this.#onClose());
    const method = this.#route.method;
    if (method.requestStream) {
      const requests = new RequestStream<unknown>(stream);
      this.#requests = requests;
      const input = method.input;
      this.#reader = new MessageReader(shared.maxReceive, (bytes) => {
        let msg: unknown;
        try {
          msg = input.fromBinary(bytes);
        } catch (err) {
          throw new GrpcError(Status.INTERNAL, `cannot decode a request message: ${(err as Error).message}`);
        }
        requests.push(msg, bytes.length);
      });
      stream.on("data", (chunk: Buffer) => this.#onData(chunk));
      stream.on("end", () => this.#onEnd());
      this.#run(requests);
    } else {
      // the reader is made only if the request does not come as one whole DATA chunk (#onData)
      stream.on("data", (chunk: Buffer) => this.#onData(chunk));
      stream.on("end", () => this.#onEnd());
    }
  }

  #onData(chunk: Buffer): void {
    if (this.#flags & DONE) {
      // the status is decided; the client still sends: once our side has ended (trailers sent), reset its side
      const stream = this.#stream;
      if (!stream.closed && stream.state.localClose) safely(() => stream.close(NGHTTP2_NO_ERROR));
      return;
    }
    let reader = this.#reader;
    if (reader === null) {
      // unary and server streaming: most requests are one message in one chunk, taken as a view
      // of it without a reader
      const n = chunk.length;
      if (this.#single === null && n >= 5 && chunk[0] === 0 && chunk.readUInt32BE(1) === n - 5 && n - 5 <= this.#shared.maxReceive) {
        this.#single = chunk.subarray(5);
        return;
      }
      reader = this.#reader = this.#singleReader();
    }
    try {
      reader.push(chunk);
    } catch (err) {
      this.#failEarly(err);
    }
  }

  /** The reader of a unary or server-streaming request that did not come as one chunk. */
  #singleReader(): MessageReader {
    const method = this.#route.method;
    return new MessageReader(this.#shared.maxReceive, (bytes) => {
      if (this.#single !== null) throw new GrpcError(Status.INTERNAL, `received a second request message for ${method.kind} method ${method.path}`);
      this.#single = bytes;
    });
  }

  #onEnd(): void {
    if (this.#flags & DONE) return;
    if (this.#stream.closed) {
      // node:http2 ends the readable side of a stream the peer reset (or whose connection went):
      // that is a cancellation, not a request that ended early
      this.#onClose();
      return;
    }
    try {
      this.#reader?.end();
    } catch (err) {
      this.#failEarly(err);
      return;
    }
    if (this.#requests !== null) {
      this.#requests.end();
      return;
    }
    const bytes = this.#single;
    const method = this.#route.method;
    if (bytes === null) {
      this.#failEarly(new GrpcError(Status.INTERNAL, `received no request message for ${method.kind} method ${method.path}`));
      return;
    }
    this.#single = null;
    let request: unknown;
    try {
      request = method.input.fromBinary(bytes);
    } catch (err) {
      this.#failEarly(new GrpcError(Status.INTERNAL, `cannot decode the request message: ${(err as Error).message}`));
      return;
    }
    this.#run(request);
  }

  /** Calls the handler with the request (or the request stream) and sends what it produces. */
  #run(request: unknown): void {
    const { handler, self, method } = this.#route;
    let result: unknown;
    try {
      result = handler.call(self, request, this);
    } catch (err) {
      this.#handlerFailed(err);
      return;
    }
    if (method.responseStream) {
      this.#pump(result).then(noop, noop);
    } else if (result !== null && typeof (result as PromiseLike<unknown>)?.then === "function") {
      (result as PromiseLike<unknown>).then((res) => this.#sendUnary(res), (err) => this.#handlerFailed(err));
    } else {
      this.#sendUnary(result);
    }
  }

  /** A unary or client-streaming handler's response. */
  #sendUnary(response: unknown): void {
    this.#flags |= HANDLER_DONE;
    if (this.#flags & DONE) {
      this.#shared.stats.droppedWrites++;
      return;
    }
    try {
      const list = encodeMessage(this.#route.method.output, response, this.#shared.maxSend);
      if (!(this.#flags & HEADERS_SENT)) this.#sendHeaders();
      if (this.#flags & DONE) return;
      writeSgList(this.#stream, list);
    } catch (err) {
      this.#handlerFailed(err);
      return;
    }
    this.#finish(Status.OK, "", undefined);
  }

  /** Sends what a streaming handler yields, waiting for 'drain' when the stream is full. */
  async #pump(result: unknown): Promise<void> {
    const method = this.#route.method;
    if (result === null || typeof result !== "object" || (!(Symbol.asyncIterator in result) && !(Symbol.iterator in result))) {
      this.#handlerFailed(new TypeError(`the handler of ${method.path} returned ${result === null ? "null" : typeof result}, not an iterable of responses`));
      return;
    }
    const output = method.output;
    const stream = this.#stream;
    try {
      for await (const response of result as AsyncIterable<unknown>) {
        if (this.#flags & DONE) {
          this.#shared.stats.droppedWrites++;
          break;
        }
        const list = encodeMessage(output, response, this.#shared.maxSend);
        if (!(this.#flags & HEADERS_SENT)) this.#sendHeaders();
        if (this.#flags & DONE) break;
        if (!writeSgList(stream, list)) await this.#drain();
      }
    } catch (err) {
      this.#handlerFailed(err);
      return;
    }
    this.#flags |= HANDLER_DONE;
    if (!(this.#flags & DONE)) this.#finish(Status.OK, "", undefined);
  }

  #drain(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.#flags & DONE) {
        resolve();
        return;
      }
      const done = () => {
        this.#stream.off("drain", done);
        this.#drainWaiter = null;
        resolve();
      };
      this.#drainWaiter = done;
      this.#stream.once("drain", done);
    });
  }

  #sendHeaders(): void {
    this.#flags |= HEADERS_SENT;
    let h = OK_HEADERS;
    if (this.#responseHeader !== null && this.#responseHeader.size > 0) {
      h = { ":status": 200, "content-type": "application/grpc" };
      metadataToHeaders(this.#responseHeader, h as Record<string, string | string[]>);
    }
    const stream = this.#stream;
    try {
      stream.respond(h, RESPOND_STREAMING);
    } catch {
      return; // reset meanwhile: 'close' ends the call
    }
    stream.on("wantTrailers", () => this.#onWantTrailers());
  }

  #onWantTrailers(): void {
    const t = this.#trailers ?? { "grpc-status": String(Status.CANCELLED), "grpc-message": "the call ended without a status" };
    const stream = this.#stream;
    safely(() => {
      stream.sendTrailers(t);
      // The request side may still be open (a stream the handler did not read to its end). Not
      // reset here: an RST_STREAM right after the trailers can overtake them while DATA waits for
      // flow control, and the client would see no status. What the client still sends is read
      // and dropped (#onData), and the stream is reset once the trailers have gone out.
      if (!stream.readableEnded) stream.resume();
    });
  }

  /** The handler (or its response stream) failed: its status, or UNKNOWN for anything but a GrpcError. */
  #handlerFailed(err: unknown): void {
    this.#flags |= HANDLER_DONE;
    if (this.#flags & DONE) return;
    if (err instanceof GrpcError) {
      const code = Number.isInteger(err.code) && err.code > 0 && err.code <= 16 ? err.code : Status.UNKNOWN;
      this.#finish(code, err.details, err.metadata);
      return;
    }
    const onError = this.#shared.onError;
    if (onError !== undefined) safely(() => onError(err, this.#route.method));
    this.#finish(Status.UNKNOWN, `the handler of ${this.#route.method.path} failed`, undefined);
  }

  /** The request side failed (framing, limits, decoding) while the handler may still run: end the call and tell the handler. */
  #failEarly(err: unknown): void {
    const e = err instanceof GrpcError ? err : new GrpcError(Status.INTERNAL, (err as Error)?.message ?? String(err));
    this.#abortWith(e);
    this.#finish(e.code, e.details, undefined);
  }

  #onDeadline(): void {
    this.#timer = undefined;
    if (this.#flags & DONE) return;
    const e = new GrpcError(Status.DEADLINE_EXCEEDED, "deadline exceeded");
    this.#abortWith(e);
    this.#finish(e.code, e.details, undefined);
  }

  /** Sends the final status: as trailers, or trailers-only when no headers went out yet. */
  #finish(code: Status, details: string, extra: Metadata | undefined): void {
    if (this.#flags & DONE) return;
    this.#flags |= DONE;
    const stats = this.#shared.stats;
    if (code === Status.OK) stats.ok++;
    else stats.failed++;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    try {
      this.#sendStatus(code, details, extra);
    } catch {
      // not expected (metadata is checked when added); should it happen, the call ends with a reset, the process goes on
      safely(() => this.#stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    }
  }

  #sendStatus(code: Status, details: string, extra: Metadata | undefined): void {
    if (code !== Status.OK && !(this.#flags & HANDLER_DONE)) {
      // the call ends while its handler still runs: let it know, and end its request stream
      this.#abortWith(new GrpcError(code, details));
    }
    this.#drainWaiter?.();
    const tr = this.#responseTrailer;
    let t: OutgoingHttpHeaders;
    if (code === Status.OK && details === "" && (tr === null || tr.size === 0) && extra === undefined) {
      t = OK_TRAILERS;
    } else {
      t = { "grpc-status": String(code) };
      if (details !== "") t["grpc-message"] = encodeGrpcMessage(details);
      if (tr !== null) metadataToHeaders(tr, t as Record<string, string | string[]>);
      if (extra !== undefined && extra !== tr) safely(() => metadataToHeaders(extra, t as Record<string, string | string[]>));
    }
    const stream = this.#stream;
    if (stream.destroyed) return;
    if (!(this.#flags & HEADERS_SENT)) {
      this.#flags |= HEADERS_SENT;
      const h: OutgoingHttpHeaders = { ":status": 200, "content-type": "application/grpc" };
      if (this.#responseHeader !== null) metadataToHeaders(this.#responseHeader, h as Record<string, string | string[]>);
      Object.assign(h, t);
      safely(() => {
        stream.respond(h, RESPOND_END);
        if (!stream.readableEnded) stream.close(NGHTTP2_NO_ERROR);
      });
    } else {
      this.#trailers = t;
      safely(() => stream.end());
    }
  }

  /** Aborts context.signal (now, or when it is first read) and fails the request stream. */
  #abortWith(reason: GrpcError): void {
    if (this.#abortReason !== null) return;
    this.#abortReason = reason;
    if (this.#abort !== null) safely(() => this.#abort!.abort(reason));
    this.#requests?.fail(reason);
  }

  /** forceClose: cancel the call now. */
  cancel(): void {
    safely(() => this.#stream.close(NGHTTP2_CANCEL));
    this.#onClose();
  }

  #onClose(): void {
    const shared = this.#shared;
    if (!shared.calls.delete(this)) return;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (!(this.#flags & DONE)) {
      // the client reset the stream, the connection went, or the server was force-closed
      this.#flags |= DONE;
      shared.stats.failed++;
      shared.stats.cancelled++;
      this.#abortWith(shared.shutdown ? new GrpcError(Status.UNAVAILABLE, "the server was shut down") : new GrpcError(Status.CANCELLED, "the call was cancelled by the client"));
      this.#drainWaiter?.();
    }
    this.#single = null;
    this.#reader = null;
    if (shared.calls.size === 0 && shared.idle !== null) shared.idle();
  }
}

/**
 * The request stream a client- or bidi-streaming handler iterates. Decoded messages wait in a
 * queue; once it holds QUEUE_HIGH_BYTES or QUEUE_HIGH_COUNT the HTTP/2 stream is paused, so
 * node:http2 stops acknowledging the peer's data and HTTP/2 flow control holds the peer back; it
 * resumes when the handler has taken half of them. A handler that stops iterating early
 * (break/return) gets no more messages: the rest is read and dropped.
 */
class RequestStream<T> implements AsyncIterableIterator<T> {
  readonly #stream: ServerHttp2Stream;
  #queue: T[] = [];
  #sizes: number[] = [];
  #head = 0;
  #bytes = 0;
  #ended = false;
  #error: GrpcError | null = null;
  #paused = false;
  #abandoned = false;
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | null = null;

  constructor(stream: ServerHttp2Stream) {
    this.#stream = stream;
  }

  push(msg: T, size: number): void {
    if (this.#abandoned || this.#ended || this.#error !== null) return;
    const w = this.#waiter;
    if (w !== null) {
      this.#waiter = null;
      w.resolve({ value: msg, done: false });
      return;
    }
    this.#queue.push(msg);
    this.#sizes.push(size);
    this.#bytes += size;
    if (!this.#paused && (this.#bytes >= QUEUE_HIGH_BYTES || this.#queue.length - this.#head >= QUEUE_HIGH_COUNT)) {
      this.#paused = true;
      this.#stream.pause();
    }
  }

  end(): void {
    this.#ended = true;
    const w = this.#waiter;
    if (w !== null && this.#queue.length === this.#head) {
      this.#waiter = null;
      w.resolve({ value: undefined, done: true });
    }
  }

  fail(err: GrpcError): void {
    if (this.#error !== null || this.#abandoned) return;
    this.#error = err;
    this.#clear();
    const w = this.#waiter;
    if (w !== null) {
      this.#waiter = null;
      w.reject(err);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#head < this.#queue.length) {
      const msg = this.#queue[this.#head]!;
      this.#bytes -= this.#sizes[this.#head]!;
      this.#head++;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#sizes = [];
        this.#head = 0;
      }
      if (this.#paused && this.#bytes < QUEUE_HIGH_BYTES / 2 && this.#queue.length - this.#head < QUEUE_HIGH_COUNT / 2) {
        this.#paused = false;
        this.#stream.resume();
      }
      return Promise.resolve({ value: msg, done: false });
    }
    if (this.#ended || this.#abandoned) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiter !== null) return Promise.reject(new Error("the request stream is already being read (one next() at a time)"));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.#abandoned) {
      this.#abandoned = true;
      this.#clear();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  #clear(): void {
    this.#queue = [];
    this.#sizes = [];
    this.#head = 0;
    this.#bytes = 0;
    if (this.#paused) {
      this.#paused = false;
      safely(() => this.#stream.resume());
    }
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
