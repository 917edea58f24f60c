/**
 * A client's connection to one gRPC server: one HTTP/2 session (h2c for "http://", TLS with ALPN
 * h2 for "https://"), opened by the first call and opened again by the next call after the server
 * sent GOAWAY or the connection closed or failed.
 */
import * as http2 from "node:http2";
import { DEFAULT_MAX_RECEIVE_MESSAGE_BYTES, MAX_MESSAGE_LENGTH } from "./frame.js";
import { keepaliveSettings, watchSession, type Keepalive, type KeepaliveOption } from "./keepalive.js";
import { GrpcError, Status } from "./status.js";

/** How a channel connects and what it accepts. */
export interface ChannelOptions {
  /** TLS: the certificate authorities to trust instead of Node's defaults (PEM). */
  ca?: string | Buffer | (string | Buffer)[];
  /** TLS: the name to check the server's certificate against (SNI), when not the address's host. */
  servername?: string;
  /** TLS: false accepts a certificate that does not verify (tests only). Default true. */
  rejectUnauthorized?: boolean;
  /** TLS client certificate and key (PEM), for servers that ask for one. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The largest response message accepted; a larger one fails the call with RESOURCE_EXHAUSTED. Default 4 MiB. */
  maxReceiveMessageBytes?: number;
  /** The largest request message sent; a larger one fails the call with RESOURCE_EXHAUSTED. Default: no limit but the protocol's (4 GiB - 1). */
  maxSendMessageBytes?: number;
  /**
   * HTTP/2 settings to send. Default: an initial stream window of 1 MiB (HTTP/2's own is 64 KiB,
   * which would stall every response past it for a round trip).
   */
  settings?: http2.Settings;
  /** The connection's receive window in bytes. Default 16 MiB. */
  connectionWindowBytes?: number;
  /**
   * Connection health checks while calls are open: when the connection has carried nothing for
   * `idleMs` (default 300000, 5 minutes: gRPC C-core servers answer PINGs sent more often than
   * that on a connection without data with GOAWAY "too_many_pings"), the channel sends a PING;
   * if no answer comes within `timeoutMs` (default 20000) the connection is dropped, its calls
   * fail UNAVAILABLE and the next call connects again. This finds a server that died without a
   * TCP close, and a connection node:http2 stopped reading (it does after some protocol errors
   * of the peer, and then never sees the peer's close): without it, calls without a deadline on
   * such a connection would wait forever. An idle channel (no calls) sends nothing. `false` turns
   * the checks off.
   */
  keepalive?: KeepaliveOption;
}

const DEFAULT_STREAM_WINDOW = 1 << 20;
/** the session a stream was opened on (node's stream.session is gone once the stream is destroyed) */
const kSession = Symbol("sgwire.session");
type StreamWithSession = http2.ClientHttp2Stream & { [kSession]?: http2.ClientHttp2Session | undefined };
const DEFAULT_CONNECTION_WINDOW = 16 << 20;

function checkLimit(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new RangeError(`ChannelOptions.${name} must be an integer >= 0, got ${String(v)}`);
  return Math.min(v, MAX_MESSAGE_LENGTH);
}

/**
 * A connection to one gRPC server, shared by the clients created on it (`createClient(Service,
 * channel)`). Calls are multiplexed on one HTTP/2 session. Session errors never throw: the calls
 * in flight on a failed session fail with UNAVAILABLE, and the next call connects again. An idle
 * channel does not keep the process alive.
 */
export class Channel {
  /** The address given to createChannel, e.g. "http://127.0.0.1:50051". */
  readonly address: string;
  /** The URL origin the session connects to ("http://host:port" or "https://host:port"). */
  readonly origin: string;
  /** true for https:// (TLS). */
  readonly secure: boolean;
  /** The largest response message the clients on this channel accept (ChannelOptions.maxReceiveMessageBytes). */
  readonly maxReceiveMessageBytes: number;
  /** The largest request message they send (ChannelOptions.maxSendMessageBytes). */
  readonly maxSendMessageBytes: number;
  readonly #connectOptions: http2.SecureClientSessionOptions;
  readonly #connectionWindow: number;
  readonly #keepalive: Keepalive;
  #session: http2.ClientHttp2Session | null = null;
  #closed = false;
  /** calls open on the current session (the session is ref'd while there is one) */
  #active = 0;
  /** the last connection error, for the message of the calls it fails */
  #lastError: Error | null = null;

  /** Use `createChannel`. */
  constructor(address: string, options: ChannelOptions = {}) {
    if (typeof address !== "string") throw new TypeError(`createChannel: address must be a string like "http://host:port", got ${typeof address}`);
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      throw new TypeError(`createChannel: address ${JSON.stringify(address)} is not a URL like "http://host:port" or "https://host:port"`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`createChannel: address ${JSON.stringify(address)} must start with http:// (h2c) or https:// (TLS), not ${url.protocol}//`);
    }
    if ((url.pathname !== "/" && url.pathname !== "") || url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
      throw new TypeError(`createChannel: address ${JSON.stringify(address)} must be only scheme, host and port (no path, query or credentials)`);
    }
    if (options === null || typeof options !== "object") throw new TypeError(`createChannel: options must be an object, got ${options === null ? "null" : typeof options}`);
    this.address = address;
    this.origin = url.origin;
    this.secure = url.protocol === "https:";
    this.maxReceiveMessageBytes = checkLimit("maxReceiveMessageBytes", options.maxReceiveMessageBytes, DEFAULT_MAX_RECEIVE_MESSAGE_BYTES);
    this.maxSendMessageBytes = checkLimit("maxSendMessageBytes", options.maxSendMessageBytes, MAX_MESSAGE_LENGTH);
    this.#connectionWindow = options.connectionWindowBytes ?? DEFAULT_CONNECTION_WINDOW;
    if (!Number.isInteger(this.#connectionWindow) || this.#connectionWindow < 65535 || this.#connectionWindow > 0x7fffffff) {
      throw new RangeError(`ChannelOptions.connectionWindowBytes must be an integer from 65535 to 2^31-1, got ${String(options.connectionWindowBytes)}`);
    }
    this.#keepalive = keepaliveSettings("ChannelOptions", options.keepalive, 300_000);
    if (options.settings !== undefined) {
      try {
        // throws a RangeError naming a setting out of range
        http2.getPackedSettings(options.settings);
      } catch (err) {
        throw new RangeError(`ChannelOptions.settings: ${(err as Error).message}`);
      }
    }
    const co: http2.SecureClientSessionOptions = {
      settings: { initialWindowSize: DEFAULT_STREAM_WINDOW, ...options.settings },
      // Node refuses new streams once a session buffers more than maxSessionMemory (10 MB by
      // default), and fails them with ENHANCE_YOUR_CALM: a few 4 MiB messages in flight would
      // do it. Flow control bounds what a peer can make us buffer instead.
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
    };
    if (this.secure) {
      co.ALPNProtocols = ["h2"];
      if (options.ca !== undefined) co.ca = options.ca;
      if (options.servername !== undefined) co.servername = options.servername;
      if (options.rejectUnauthorized !== undefined) co.rejectUnauthorized = options.rejectUnauthorized;
      if (options.cert !== undefined) co.cert = options.cert;
      if (options.key !== undefined) co.key = options.key;
    }
    this.#connectOptions = co;
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * @internal Opens a stream for one call, connecting first if there is no usable session.
   * Throws GrpcError UNAVAILABLE when the channel is closed or no stream can be opened.
   */
  openStream(headers: http2.OutgoingHttpHeaders): http2.ClientHttp2Stream {
    if (this.#closed) throw new GrpcError(Status.UNAVAILABLE, `channel closed (${this.address})`);
    let session = this.#usableSession();
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers);
    } catch (err) {
      // a session that went away between our check and the request (GOAWAY being processed,
      // out of stream ids): once more on a new one
      if (this.#session === session) this.#drop(session);
      session = this.#usableSession();
      try {
        stream = session.request(headers);
      } catch (err2) {
        throw new GrpcError(Status.UNAVAILABLE, `cannot open a stream to ${this.address}: ${(err2 as Error).message}`);
      }
      void err;
    }
    if (this.#active++ === 0) session.ref();
    (stream as StreamWithSession)[kSession] = session;
    return stream;
  }

  /**
   * @internal The client calls this once per stream from openStream, when the stream has closed.
   * Returns whether the stream's connection is gone (closed, destroyed or failed): a stream reset
   * then is the connection's end, not the server's decision.
   */
  streamClosed(stream: http2.ClientHttp2Stream): boolean {
    const session = (stream as StreamWithSession)[kSession];
    if (session === undefined) return false;
    (stream as StreamWithSession)[kSession] = undefined;
    const gone = session.destroyed || session.closed;
    this.#streamClosed(session);
    return gone;
  }

  /** @internal why calls on a dropped connection failed: the connection error, if there was one */
  connectionError(): Error | null {
    return this.#lastError;
  }

  /**
   * Closes the channel: the session ends once the calls in flight finish (new calls fail at once
   * with UNAVAILABLE "channel closed"). Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const s = this.#session;
    this.#session = null;
    if (s !== null && !s.destroyed) {
      s.close();
      // close() waits for the open streams; an idle session goes now
      if (this.#active === 0) s.destroy();
    }
  }

  #usableSession(): http2.ClientHttp2Session {
    const s = this.#session;
    if (s !== null && !s.closed && !s.destroyed) return s;
    return this.#connect();
  }

  #connect(): http2.ClientHttp2Session {
    this.#active = 0;
    this.#lastError = null;
    const session = http2.connect(this.origin, this.#connectOptions);
    this.#session = session;
    session.unref();
    const win = this.#connectionWindow;
    session.once("connect", () => {
      try {
        if (win > 65535 && !session.destroyed) session.setLocalWindowSize(win);
      } catch {
        // an old or closing session: the default window stays
      }
    });
    // Never thrown: a failed connection fails the streams on it (they see the error too), and
    // the next call connects again.
    session.on("error", (err: Error) => {
      this.#lastError = err;
      this.#drop(session);
    });
    session.once("goaway", () => {
      this.#drop(session);
      // no new streams may start on it: it ends once the calls in flight have (now, if none)
      if (!session.closed && !session.destroyed) session.close();
    });
    session.once("close", () => this.#drop(session));
    // suspect while calls are open on it: the current session without calls is idle, and a
    // dropped one still alive has calls
    watchSession(session, this.#keepalive, () => session !== this.#session || this.#active > 0, (why) => {
      this.#lastError = new Error(why);
      this.#drop(session);
    });
    return session;
  }

  /** Forgets `session` so the next call opens a new one (calls in flight on it go on or fail). */
  #drop(session: http2.ClientHttp2Session): void {
    if (this.#session === session) {
      this.#session = null;
      this.#active = 0;
    }
  }

  #streamClosed(session: http2.ClientHttp2Session): void {
    if (this.#session !== session) {
      // a dropped session: it goes once its last stream does (closing it lets that happen)
      if (!session.closed && !session.destroyed) session.close();
      return;
    }
    if (--this.#active === 0) {
      if (this.#closed) session.destroy();
      else session.unref();
    }
  }
}

/**
 * A channel to the gRPC server at `address`: "http://host:port" (HTTP/2 over cleartext, h2c) or
 * "https://host:port" (TLS, ALPN h2; `options.ca`, `servername`, `rejectUnauthorized`). Nothing
 * connects until the first call. Throws a TypeError naming what is wrong with the address or
 * options.
 */
export function createChannel(address: string, options?: ChannelOptions): Channel {
  return new Channel(address, options);
}
