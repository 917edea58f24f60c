/**
 * The gRPC client of @sgwire/grpc on node:http2: typed functions per method of a service, whose
 * requests are written as their sgwire scatter-gather segments (referenced bytes fields are not
 * concatenated) and whose responses are decoded into views of the received data.
 */
import { constants as h2 } from "node:http2";
import type { ClientHttp2Stream, IncomingHttpHeaders, IncomingHttpStatusHeader, OutgoingHttpHeaders } from "node:http2";
import { createRequire } from "node:module";
import type { AnyMethod, ServiceType } from "@sgwire/core";
import { Channel } from "./channel.js";
import { MessageReader, writeMessage } from "./frame.js";
import { decodeGrpcMessage, encodeTimeout, metadataFromRawHeaders, metadataToHeaders, statusFromHttp } from "./headers.js";
import { Metadata } from "./metadata.js";
import { GrpcError, Status } from "./status.js";
import { MAX_TIMER_MS } from "./keepalive.js";
import { assertService, type CallOptions, type Client, type StreamInput } from "./types.js";

const VERSION: string = (() => {
  try {
    return (createRequire(import.meta.url)("../package.json") as { version: string }).version;
  } catch {
    return "0";
  }
})();

/** The user-agent of sgwire's client: "sgwire-grpc/<version>". */
export const USER_AGENT = `sgwire-grpc/${VERSION}`;

/** Response messages a streaming call queues before it pauses the stream (HTTP/2 flow control then holds the server back). */
const HIGH_WATER_MESSAGES = 16;

const kCall = Symbol("sgwire.call");
type CallStream = ClientHttp2Stream & { [kCall]?: Call };

const CONTENT_TYPE = "application/grpc";

/** Whether a response content-type is gRPC's: "application/grpc", optionally "+format" or ";params". */
function isGrpcContentType(ct: string | undefined): boolean {
  if (ct === undefined || !ct.startsWith(CONTENT_TYPE)) return false;
  if (ct.length === CONTENT_TYPE.length) return true;
  const c = ct.charCodeAt(CONTENT_TYPE.length);
  return c === 0x2b /* + */ || c === 0x3b /* ; */;
}

/** Milliseconds from now to `deadline` (a Date, or milliseconds from now). */
function deadlineMs(deadline: Date | number): number {
  if (deadline instanceof Date) {
    const t = deadline.getTime();
    if (Number.isNaN(t)) throw new TypeError("CallOptions.deadline is an invalid Date");
    return t - Date.now();
  }
  if (typeof deadline !== "number" || Number.isNaN(deadline)) {
    throw new TypeError(`CallOptions.deadline must be a Date or a number of milliseconds, got ${deadline === null ? "null" : typeof deadline}`);
  }
  return deadline;
}

/**
 * One call in flight. The stream's listeners are module-level functions that find the call on the
 * stream (no closures per call but the message reader's callback).
 */
class Call {
  readonly method: AnyMethod;
  readonly channel: Channel;
  readonly options: CallOptions | undefined;
  /** one response message expected (unary, client streaming) rather than a stream of them */
  readonly single: boolean;
  stream: CallStream | null = null;
  reader: MessageReader;
  done = false;
  /** messages received */
  count = 0;
  /** the response of a single-response call */
  response: unknown = undefined;
  httpStatus = 0;
  trailers: IncomingHttpHeaders | null = null;
  trailersRaw: string[] | null = null;
  streamError: Error | null = null;
  timer: ReturnType<typeof setTimeout> | null = null;
  deadlineAfter = 0;
  // single-response calls
  resolve: ((value: unknown) => void) | null = null;
  reject: ((err: unknown) => void) | null = null;
  // streaming responses
  queue: unknown[] | null = null;
  /** index of the next message to hand out in `queue` (no shift per message) */
  head = 0;
  paused = false;
  error: unknown = null;
  waitResolve: ((r: IteratorResult<unknown>) => void) | null = null;
  waitReject: ((err: unknown) => void) | null = null;
  // streaming requests
  drainWaiter: (() => void) | null = null;

  constructor(method: AnyMethod, channel: Channel, options: CallOptions | undefined, single: boolean) {
    this.method = method;
    this.channel = channel;
    this.options = options;
    this.single = single;
    if (!single) this.queue = [];
    this.reader = new MessageReader(channel.maxReceiveMessageBytes, (bytes) => this.onMessage(bytes));
  }

  /**
   * Opens the stream with the request headers. Returns false (and the call has failed) when the
   * options are wrong, the deadline has passed, the signal is aborted or no stream could be opened.
   */
  start(): boolean {
    const o = this.options;
    const headers: OutgoingHttpHeaders = {
      ":method": "POST",
      ":path": this.method.path,
      "content-type": CONTENT_TYPE,
      te: "trailers",
      "user-agent": USER_AGENT,
      "grpc-accept-encoding": "identity",
    };
    let ms = -1;
    if (o !== undefined) {
      try {
        if (o.signal?.aborted) {
          this.finish(Status.CANCELLED, "the signal was aborted before the call started", null);
          return false;
        }
        if (o.deadline !== undefined) {
          ms = deadlineMs(o.deadline);
          if (ms <= 0) {
            this.finish(Status.DEADLINE_EXCEEDED, "the deadline had passed before the call started", null);
            return false;
          }
          headers["grpc-timeout"] = encodeTimeout(Math.ceil(ms));
        }
        if (o.metadata !== undefined) {
          if (!(o.metadata instanceof Metadata)) throw new TypeError("CallOptions.metadata must be a Metadata");
          metadataToHeaders(o.metadata, headers as Record<string, string | string[]>);
        }
      } catch (err) {
        this.fail(err);
        return false;
      }
    }
    let stream: CallStream;
    try {
      stream = this.channel.openStream(headers);
    } catch (err) {
      this.fail(err);
      return false;
    }
    this.stream = stream;
    stream[kCall] = this;
    stream.on("response", onResponse);
    stream.on("data", onData);
    stream.on("trailers", onTrailers);
    stream.on("end", onEnd);
    stream.on("error", onError);
    stream.on("close", onClose);
    // (a deadline past what a timer can wait, 24.8 days, is left to the server's grpc-timeout)
    if (ms > 0 && ms <= MAX_TIMER_MS) {
      this.deadlineAfter = ms;
      this.timer = setTimeout(onDeadline, ms, this);
    }
    if (o?.signal !== undefined) o.signal.addEventListener("abort", this);
    return true;
  }

  /** The signal's abort listener (EventTarget calls handleEvent). */
  handleEvent(): void {
    this.cancel(Status.CANCELLED, "the call was cancelled (signal aborted)");
  }

  onMessage(bytes: Uint8Array): void {
    if (this.done) return;
    let msg: unknown;
    try {
      msg = this.method.output.fromBinary(bytes);
    } catch (err) {
      throw new GrpcError(Status.INTERNAL, `cannot decode a response of ${this.method.path} as ${this.method.output.typeName}: ${(err as Error).message}`);
    }
    this.count++;
    if (this.single) {
      if (this.count > 1) throw new GrpcError(Status.UNIMPLEMENTED, `too many responses received: ${this.method.path} returns one message, the server sent more`);
      this.response = msg;
      return;
    }
    const w = this.waitResolve;
    if (w !== null) {
      this.waitResolve = this.waitReject = null;
      w({ value: msg, done: false });
      return;
    }
    const q = this.queue!;
    q.push(msg);
    if (q.length - this.head >= HIGH_WATER_MESSAGES && !this.paused) {
      this.paused = true;
      this.stream!.pause();
    }
  }

  /** Ends the call locally with `code` and resets the stream (RST_STREAM CANCEL). */
  cancel(code: Status, details: string, error?: unknown): void {
    if (this.done) return;
    if (error !== undefined) this.finishWith(error, code, details);
    else this.finish(code, details, null);
    const s = this.stream;
    if (s !== null && !s.destroyed) s.close(h2.NGHTTP2_CANCEL);
  }

  /** Fails the call with `err`: a GrpcError as it is, anything else as INTERNAL. */
  fail(err: unknown): void {
    if (err instanceof GrpcError) this.finishWith(err, err.code, err.details);
    else this.finishWith(new GrpcError(Status.INTERNAL, (err as Error)?.message ?? String(err)), Status.INTERNAL, String((err as Error)?.message ?? err));
  }

  /** The status carried by received trailers (or a trailers-only response). */
  finishFromTrailers(): void {
    const t = this.trailers!;
    const raw = t["grpc-status"];
    let code: Status;
    let details: string;
    if (raw === undefined) {
      if (this.httpStatus !== 200) {
        code = statusFromHttp(this.httpStatus);
        details = `received HTTP status ${this.httpStatus} without a gRPC status`;
      } else {
        code = Status.UNKNOWN;
        details = "no grpc-status received";
      }
    } else {
      const s = typeof raw === "string" && /^\d{1,10}$/.test(raw) ? Number(raw) : -1;
      if (s < 0) {
        code = Status.UNKNOWN;
        details = `invalid grpc-status ${JSON.stringify(raw)}`;
      } else {
        code = s;
        const m = t["grpc-message"];
        details = typeof m === "string" ? decodeGrpcMessage(m) : "";
      }
    }
    this.finish(code, details, this.trailersRaw);
  }

  /**
   * Ends the call with a status. `raw`: the raw trailer fields, made into Metadata only when
   * someone reads them (an error, or onTrailer).
   */
  finish(code: Status, details: string, raw: string[] | null): void {
    if (this.done) return;
    if (code === Status.OK && this.single && this.count !== 1) {
      // the server said OK but sent no response (too many is refused as it arrives)
      code = Status.UNIMPLEMENTED;
      details = `no response message received from ${this.method.path}`;
    }
    const o = this.options;
    let trailers: Metadata | undefined;
    if (o?.onTrailer !== undefined) {
      trailers = raw !== null ? metadataFromRawHeaders(raw) : new Metadata();
      try {
        o.onTrailer(trailers, code, details);
      } catch (err) {
        this.finishWith(err, code, details);
        return;
      }
    }
    if (code === Status.OK) {
      this.settle(null);
      return;
    }
    this.settle(new GrpcError(code, details, trailers ?? (raw !== null ? metadataFromRawHeaders(raw) : new Metadata())));
  }

  /** Ends the call with `error` (not made from a status: a local failure, a throwing callback). */
  finishWith(error: unknown, code: Status, details: string): void {
    if (this.done) return;
    const o = this.options;
    if (o?.onTrailer !== undefined) {
      try {
        o.onTrailer(new Metadata(), code, details);
      } catch {
        // the call already failed with `error`
      }
    }
    this.settle(error);
  }

  settle(error: unknown): void {
    this.done = true;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const o = this.options;
    if (o?.signal !== undefined) o.signal.removeEventListener("abort", this);
    const d = this.drainWaiter;
    if (d !== null) {
      this.drainWaiter = null;
      d();
    }
    if (this.single) {
      if (error === null) this.resolve!(this.response);
      else this.reject!(error);
      this.response = undefined;
      return;
    }
    if (error !== null) this.error = error;
    const w = this.waitResolve;
    if (w !== null && this.queue!.length === this.head) {
      const r = this.waitReject!;
      this.waitResolve = this.waitReject = null;
      if (error !== null) {
        this.error = null;
        r(error);
      } else w({ value: undefined, done: true });
    }
  }

  // --- the response iterator (streaming responses) ---

  next(): Promise<IteratorResult<unknown>> {
    const q = this.queue!;
    if (this.head < q.length) {
      const value = q[this.head];
      q[this.head++] = undefined;
      if (this.head === q.length) {
        q.length = 0;
        this.head = 0;
      }
      if (this.paused && q.length === 0 && !this.done) {
        this.paused = false;
        this.stream!.resume();
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.done) {
      const e = this.error;
      if (e !== null) {
        // the error is reported once; then the iterator is done
        this.error = null;
        return Promise.reject(e);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.waitResolve !== null) {
      return Promise.reject(new Error(`${this.method.path}: next() called again before the previous call's promise settled`));
    }
    return new Promise((resolve, reject) => {
      this.waitResolve = resolve;
      this.waitReject = reject;
    });
  }

  /** The consumer stopped early (break, return, throw): the call is cancelled if still running. */
  stop(): Promise<IteratorResult<unknown>> {
    if (!this.done) this.cancel(Status.CANCELLED, "the call was cancelled: the response stream was left early");
    this.error = null;
    this.queue!.length = 0;
    this.head = 0;
    return Promise.resolve({ value: undefined, done: true });
  }
}

// --- stream listeners (`this` is the stream) ---

function onResponse(this: CallStream, headers: IncomingHttpHeaders & IncomingHttpStatusHeader, flags: number, raw: string[]): void {
  const call = this[kCall]!;
  if (call.done) return;
  call.httpStatus = headers[":status"] ?? 0;
  if ((flags & h2.NGHTTP2_FLAG_END_STREAM) !== 0) {
    // trailers-only: the status is in these headers
    call.trailers = headers;
    call.trailersRaw = raw;
    call.finishFromTrailers();
    return;
  }
  if (call.httpStatus !== 200) {
    call.cancel(statusFromHttp(call.httpStatus), `received HTTP status ${call.httpStatus} (not a gRPC response)`);
    return;
  }
  const ct = headers["content-type"];
  if (!isGrpcContentType(ct)) {
    call.cancel(Status.UNKNOWN, `the response's content-type ${ct === undefined ? "is missing" : JSON.stringify(ct)}: not application/grpc`);
    return;
  }
  const enc = headers["grpc-encoding"];
  if (enc !== undefined && enc !== "identity") {
    call.cancel(Status.INTERNAL, `the server compresses responses with ${JSON.stringify(enc)}, which was not offered (only identity is supported)`);
    return;
  }
  const onHeader = call.options?.onHeader;
  if (onHeader !== undefined) {
    try {
      onHeader(metadataFromRawHeaders(raw));
    } catch (err) {
      call.cancel(Status.CANCELLED, "onHeader threw", err);
    }
  }
}

function onData(this: CallStream, chunk: Buffer): void {
  const call = this[kCall]!;
  if (call.done) return;
  try {
    call.reader.push(chunk);
  } catch (err) {
    if (err instanceof GrpcError) call.cancel(err.code, err.details);
    else call.cancel(Status.INTERNAL, `cannot read the response: ${(err as Error)?.message ?? String(err)}`);
  }
}

function onTrailers(this: CallStream, headers: IncomingHttpHeaders, _flags: number, raw: string[]): void {
  const call = this[kCall]!;
  call.trailers = headers;
  call.trailersRaw = raw;
}

function onEnd(this: CallStream): void {
  const call = this[kCall]!;
  // without trailers the stream was reset or cut: 'close' tells how
  if (call.done || call.trailers === null) return;
  try {
    call.reader.end();
  } catch (err) {
    const e = err as GrpcError;
    call.finish(e.code, e.details, null);
    return;
  }
  call.finishFromTrailers();
}

function onError(this: CallStream, err: Error): void {
  const call = this[kCall]!;
  if (call.streamError === null) call.streamError = err;
}

function onClose(this: CallStream): void {
  const call = this[kCall]!;
  const connectionGone = call.channel.streamClosed(this);
  if (call.done) return;
  if (call.trailers !== null) {
    call.finishFromTrailers();
    return;
  }
  const err = call.streamError as (Error & { code?: string }) | null;
  const rst = this.rstCode;
  let code: Status;
  let details: string;
  if (err !== null && err.code !== "ERR_HTTP2_STREAM_ERROR") {
    code = Status.UNAVAILABLE;
    details = `connection to ${call.channel.address} failed: ${err.message}`;
  } else if (rst === h2.NGHTTP2_NO_ERROR || rst === undefined) {
    if (call.httpStatus !== 0 && call.httpStatus !== 200) {
      code = statusFromHttp(call.httpStatus);
      details = `received HTTP status ${call.httpStatus} without a gRPC status`;
    } else if (call.httpStatus === 0) {
      code = Status.UNAVAILABLE;
      const connErr = call.channel.connectionError();
      details = connErr !== null ? `connection to ${call.channel.address} failed: ${connErr.message}` : `the connection to ${call.channel.address} closed before a response`;
    } else {
      code = Status.INTERNAL;
      details = "the stream ended without a gRPC status";
    }
  } else if (rst === h2.NGHTTP2_REFUSED_STREAM) {
    code = Status.UNAVAILABLE;
    details = "the server refused the stream (RST_STREAM REFUSED_STREAM)";
  } else if (rst === h2.NGHTTP2_CANCEL) {
    const connErr = call.channel.connectionError();
    if (connErr !== null) {
      code = Status.UNAVAILABLE;
      details = `connection to ${call.channel.address} failed: ${connErr.message}`;
    } else if (connectionGone) {
      code = Status.UNAVAILABLE;
      details = `the connection to ${call.channel.address} closed during the call`;
    } else {
      code = Status.CANCELLED;
      details = "the server cancelled the call (RST_STREAM CANCEL)";
    }
  } else if (rst === h2.NGHTTP2_ENHANCE_YOUR_CALM) {
    code = Status.RESOURCE_EXHAUSTED;
    details = "the server reset the stream with ENHANCE_YOUR_CALM (bandwidth or memory limit)";
  } else if (rst === h2.NGHTTP2_INADEQUATE_SECURITY) {
    code = Status.PERMISSION_DENIED;
    details = "the server reset the stream: inadequate security";
  } else {
    code = Status.INTERNAL;
    details = `received RST_STREAM with code ${rst}`;
  }
  call.finish(code, details, null);
}

function onDrain(this: CallStream): void {
  const call = this[kCall]!;
  const d = call.drainWaiter;
  if (d !== null) {
    call.drainWaiter = null;
    d();
  }
}

function onDeadline(call: Call): void {
  call.timer = null;
  call.cancel(Status.DEADLINE_EXCEEDED, `deadline exceeded (${call.deadlineAfter} ms)`);
}

// --- the four kinds ---

/** A unary or server-streaming call's request: written and ended at once. */
function sendOne(call: Call, request: unknown): void {
  const stream = call.stream!;
  try {
    writeMessage(stream, call.method.input, request, call.channel.maxSendMessageBytes);
  } catch (err) {
    sendFailed(call, err);
    return;
  }
  stream.end();
}

function sendFailed(call: Call, err: unknown): void {
  if (err instanceof GrpcError) call.cancel(err.code, err.details, err);
  else {
    const e = new GrpcError(Status.INTERNAL, `cannot send a request of ${call.method.path}: ${(err as Error)?.message ?? String(err)}`);
    call.cancel(e.code, e.details, e);
  }
}

function waitDrain(call: Call): Promise<void> {
  return new Promise((resolve) => {
    call.drainWaiter = resolve;
  });
}

/**
 * Writes the requests of a client-streaming or bidi call as the input yields them, waiting for
 * 'drain' when the stream's buffer is full, then ends the request stream. An error thrown by the
 * input cancels the call, which fails with that error.
 */
async function pump(call: Call, input: StreamInput<unknown>): Promise<void> {
  const stream = call.stream!;
  stream.on("drain", onDrain);
  const type = call.method.input;
  const max = call.channel.maxSendMessageBytes;
  let sending = false;
  try {
    const isAsync = input !== null && typeof input === "object" && typeof (input as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function";
    if (!isAsync && (input === null || input === undefined || typeof (input as Iterable<unknown>)[Symbol.iterator] !== "function")) {
      throw new TypeError(`${call.method.path}: the requests must be an iterable or async iterable of messages, got ${input === null ? "null" : typeof input}`);
    }
    // for await takes sync iterables too (each value one microtask later)
    for await (const m of input as AsyncIterable<unknown>) {
      if (call.done) return;
      sending = true;
      if (!writeMessage(stream, type, m, max)) await waitDrain(call);
      sending = false;
      if (call.done) return;
    }
    if (!call.done) stream.end();
  } catch (err) {
    if (sending) sendFailed(call, err);
    else call.cancel(Status.CANCELLED, `the request stream failed: ${(err as Error)?.message ?? String(err)}`, err);
  }
}

function singleResponse(call: Call): Promise<unknown> {
  return new Promise((resolve, reject) => {
    call.resolve = resolve;
    call.reject = reject;
  });
}

/** The AsyncIterable of a streaming response. */
class ResponseIterator implements AsyncIterableIterator<unknown> {
  readonly #call: Call;
  constructor(call: Call) {
    this.#call = call;
  }
  next(): Promise<IteratorResult<unknown>> {
    return this.#call.next();
  }
  return(): Promise<IteratorResult<unknown>> {
    return this.#call.stop();
  }
  throw(err?: unknown): Promise<IteratorResult<unknown>> {
    void err;
    return this.#call.stop();
  }
  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this;
  }
}

function unaryFn(method: AnyMethod, channel: Channel) {
  return (request: unknown, options?: CallOptions): Promise<unknown> => {
    const call = new Call(method, channel, options, true);
    const p = singleResponse(call);
    if (call.start()) sendOne(call, request);
    return p;
  };
}

function serverStreamingFn(method: AnyMethod, channel: Channel) {
  return (request: unknown, options?: CallOptions): AsyncIterable<unknown> => {
    const call = new Call(method, channel, options, false);
    if (call.start()) sendOne(call, request);
    return new ResponseIterator(call);
  };
}

function clientStreamingFn(method: AnyMethod, channel: Channel) {
  return (requests: StreamInput<unknown>, options?: CallOptions): Promise<unknown> => {
    const call = new Call(method, channel, options, true);
    const p = singleResponse(call);
    if (call.start()) void pump(call, requests);
    return p;
  };
}

function bidiStreamingFn(method: AnyMethod, channel: Channel) {
  return (requests: StreamInput<unknown>, options?: CallOptions): AsyncIterable<unknown> => {
    const call = new Call(method, channel, options, false);
    if (call.start()) void pump(call, requests);
    return new ResponseIterator(call);
  };
}

/**
 * A client of `service` on `channel`: one function per method, by local name.
 * - unary: `(request, options?) => Promise<response>`;
 * - server streaming: `(request, options?) => AsyncIterable<response>`; the stream is paused while
 *   the consumer is behind (HTTP/2 flow control holds the server back), and leaving the loop early
 *   (`break`, `return`, a throw) cancels the call (RST_STREAM CANCEL);
 * - client streaming: `(requests, options?) => Promise<response>`, `requests` any iterable or async
 *   iterable, consumed as the stream can take it; an error it throws cancels the call and rejects
 *   with that error;
 * - bidi streaming: `(requests, options?) => AsyncIterable<response>`.
 *
 * Failures reject (or throw from the iterator) with a GrpcError: `code`, `details` and the
 * trailers as `metadata`. Requests are written as their segments (see `writeMessage`): the bytes a
 * request references must not change until the call has ended. Responses are decoded into views of
 * the received data (a message spread over several DATA chunks is assembled once).
 */
export function createClient<S extends ServiceType>(service: S, channel: Channel): Client<S> {
  assertService(service, "createClient");
  if (!(channel instanceof Channel)) {
    throw new TypeError(`createClient: expected a Channel from createChannel, got ${channel === null ? "null" : typeof channel}`);
  }
  const client: Record<string, unknown> = {};
  for (const [localName, m] of Object.entries(service.methods as Record<string, AnyMethod>)) {
    switch (m.kind) {
      case "unary": client[localName] = unaryFn(m, channel); break;
      case "server_streaming": client[localName] = serverStreamingFn(m, channel); break;
      case "client_streaming": client[localName] = clientStreamingFn(m, channel); break;
      case "bidi_streaming": client[localName] = bidiStreamingFn(m, channel); break;
      default: throw new TypeError(`createClient: method ${service.typeName}.${localName} has an unknown kind ${JSON.stringify((m as AnyMethod).kind)}`);
    }
  }
  return Object.freeze(client) as Client<S>;
}
