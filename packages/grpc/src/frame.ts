/**
 * gRPC's message framing (the "Length-Prefixed-Message" of the gRPC HTTP/2 protocol): each message
 * on a call's DATA frames is a 1-byte compressed flag, a 4-byte big-endian length and that many
 * bytes of protobuf. The send side writes an sgwire scatter-gather list as it is; the receive side
 * hands out views of the received chunks where a message lies inside one.
 */
import type { Writable } from "node:stream";
import { SgList, type MessageType } from "@sgwire/core";
import { GrpcError, Status } from "./status.js";

/** What a receiver accepts per message unless configured otherwise: 4 MiB, as grpc-js and C-core. */
export const DEFAULT_MAX_RECEIVE_MESSAGE_BYTES = 4 * 1024 * 1024;

/** The largest length a prefix can carry. */
export const MAX_MESSAGE_LENGTH = 0xffffffff;

/** Bytes of the prefix in front of each message. */
export const PREFIX_BYTES = 5;

/** The 5-byte prefix of a message of `length` bytes: flag (1 when `compressed`), then the length. */
export function messagePrefix(length: number, compressed = false): Buffer {
  if (!Number.isInteger(length) || length < 0 || length > MAX_MESSAGE_LENGTH) {
    throw new RangeError(`gRPC message length must be an integer from 0 to ${MAX_MESSAGE_LENGTH}, got ${String(length)}`);
  }
  const b = Buffer.allocUnsafe(PREFIX_BYTES);
  b[0] = compressed ? 1 : 0;
  b.writeUInt32BE(length, 1);
  return b;
}

/**
 * An SgList whose scratch memory starts 5 bytes into `head`, a Buffer of Node's pool: the message
 * prefix goes in those 5 bytes, so the prefix and the first scratch segment go to the stream as
 * one Buffer (no prefix allocated apart, no Uint8Array for node:stream to convert).
 */
export class FramedSgList extends SgList {
  constructor(readonly head: Buffer) {
    super(head.subarray(PREFIX_BYTES));
  }
}

/** Copied bytes of the last message of each type: the scratch the next one gets (within Node's pool). */
const scratchHints = new Map<object, number>();
const HINT_DEFAULT = 128;
/** Buffer.allocUnsafe takes from Node's shared pool below half its 8 KiB */
const HINT_MAX = 4096 - PREFIX_BYTES - 1;

/**
 * Encodes `message` with `type` for sending: its scatter-gather list, with room for the message
 * prefix in front of its scratch memory (see writeSgList). Throws GrpcError(RESOURCE_EXHAUSTED)
 * when it is larger than `maxSendBytes`, and the codec's EncodeError when the message cannot be
 * encoded. Nothing is written anywhere: a server encodes first so that a message that cannot be
 * sent still leaves room for a trailers-only error response.
 */
export function encodeMessage<T>(type: MessageType<T>, message: T, maxSendBytes = MAX_MESSAGE_LENGTH): SgList {
  const key: object = type;
  const hint = scratchHints.get(key) ?? HINT_DEFAULT;
  const list = new FramedSgList(Buffer.allocUnsafe(PREFIX_BYTES + hint));
  type.encode(message, { into: list });
  const copied = list.bytesCopied;
  // follow the sizes this type has lately (a larger one allocated scratch of its own this time)
  if ((copied > hint && hint < HINT_MAX) || copied < hint >>> 2) scratchHints.set(key, Math.min(HINT_MAX, Math.max(copied, 16)));
  if (list.byteLength > maxSendBytes) {
    throw new GrpcError(Status.RESOURCE_EXHAUSTED, `message of ${list.byteLength} bytes is larger than the send limit of ${maxSendBytes} bytes (${type.typeName})`);
  }
  return list;
}

/**
 * Writes an encoded message (see encodeMessage) to `stream`: its prefix, then its segments as they
 * are, gathered by cork()/uncork() into one writev, so referenced bytes fields are never
 * concatenated into a buffer of ours. When the list came from encodeMessage and its scratch is
 * where encodeMessage put it, the prefix is written into the 5 bytes before the scratch and goes
 * out with the first segment as one Buffer. Returns what the stream's last write returned: false
 * when its buffer is full (wait for 'drain' before writing more).
 */
export function writeSgList(stream: Writable, list: SgList): boolean {
  const segs = list.segments;
  const n = segs.length;
  if (n === 0) return stream.write(messagePrefix(0));
  let first: Uint8Array;
  const s0 = segs[0]!;
  if (list instanceof FramedSgList && s0.buffer === list.head.buffer && s0.byteOffset === list.head.byteOffset + PREFIX_BYTES) {
    const head = list.head;
    const size = list.byteLength;
    head[0] = 0;
    head.writeUInt32BE(size, 1);
    first = head.subarray(0, PREFIX_BYTES + s0.length);
    if (n === 1) return stream.write(first);
    stream.cork();
  } else {
    stream.cork();
    stream.write(messagePrefix(list.byteLength));
    first = s0;
  }
  let ok = stream.write(first);
  for (let i = 1; i < n; i++) ok = stream.write(segs[i]);
  stream.uncork();
  return ok;
}

/**
 * Encodes `message` with `type` and writes its prefix and its segments to `stream` as they are
 * (encodeMessage, then writeSgList): the prefix shares one Buffer with the first scratch segment,
 * and every other segment, referenced bytes fields included, is its own write, gathered by
 * cork()/uncork() into one writev; nothing is concatenated. Returns what the stream's last write
 * returned: false when its buffer is full (wait for 'drain' before writing more). Throws
 * GrpcError(RESOURCE_EXHAUSTED) when the encoded message is larger than `maxSendBytes` (nothing is
 * written), and the codec's EncodeError when the message cannot be encoded.
 *
 * The referenced segments must not change until the stream has sent them.
 */
export function writeMessage<T>(stream: Writable, type: MessageType<T>, message: T, maxSendBytes = MAX_MESSAGE_LENGTH): boolean {
  return writeSgList(stream, encodeMessage(type, message, maxSendBytes));
}

const EMPTY = new Uint8Array(0);

/**
 * The receive side of gRPC framing. `push` the DATA chunks of one call in order; `onMessage` is
 * called once per complete message with its bytes:
 * - a message that lies inside one chunk is a view of that chunk (no copy);
 * - a message spread over chunks is assembled once, into a buffer of exactly its length, allocated
 *   only when its prefix has arrived and its length is within the limit.
 *
 * `push` throws GrpcError RESOURCE_EXHAUSTED for a prefix whose length is past the limit (before
 * allocating anything), INTERNAL for a compressed message (no grpc-encoding was negotiated) or a
 * flag byte other than 0 and 1. After such an error the reader refuses every later chunk with the
 * same error. An error thrown by `onMessage` propagates out of `push` and leaves the reader where
 * it was (after that message).
 */
export class MessageReader {
  readonly #max: number;
  readonly #onMessage: (bytes: Uint8Array) => void;
  /** prefix bytes seen of the current message (0..5) */
  #have = 0;
  /** the prefix, while it arrives in pieces */
  #prefix: Uint8Array | null = null;
  /** the current message's length, once its prefix is complete; -1 while reading a prefix */
  #length = -1;
  /** the message being assembled, when it spans chunks */
  #assembly: Uint8Array | null = null;
  #filled = 0;
  #error: GrpcError | null = null;

  constructor(maxReceiveBytes: number, onMessage: (bytes: Uint8Array) => void) {
    if (!(maxReceiveBytes >= 0)) throw new RangeError(`maxReceiveBytes must be a number >= 0, got ${String(maxReceiveBytes)}`);
    if (typeof onMessage !== "function") throw new TypeError("MessageReader: onMessage must be a function");
    this.#max = maxReceiveBytes;
    this.#onMessage = onMessage;
  }

  /** Bytes received and held for a message not yet complete (prefix bytes included). */
  get buffered(): number {
    return this.#length < 0 ? this.#have : PREFIX_BYTES + this.#filled;
  }

  /** Feeds the next chunk of the call's data. */
  push(chunk: Uint8Array): void {
    if (this.#error !== null) throw this.#error;
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      if (this.#length < 0) {
        // reading a prefix
        if (this.#have === 0 && n - pos >= PREFIX_BYTES) {
          this.#begin(chunk[pos]!, ((chunk[pos + 1]! << 24) >>> 0) + (chunk[pos + 2]! << 16) + (chunk[pos + 3]! << 8) + chunk[pos + 4]!);
          pos += PREFIX_BYTES;
        } else {
          const p = (this.#prefix ??= new Uint8Array(PREFIX_BYTES));
          while (this.#have < PREFIX_BYTES && pos < n) p[this.#have++] = chunk[pos++]!;
          if (this.#have < PREFIX_BYTES) return;
          this.#begin(p[0]!, ((p[1]! << 24) >>> 0) + (p[2]! << 16) + (p[3]! << 8) + p[4]!);
        }
        const len = this.#length;
        if (this.#assembly === null) {
          // the whole message is in this chunk (or it is empty)
          if (len === 0) {
            this.#reset();
            this.#onMessage(EMPTY);
          } else if (n - pos >= len) {
            const view = chunk.subarray(pos, pos + len);
            pos += len;
            this.#reset();
            this.#onMessage(view);
          } else {
            // its own ArrayBuffer of exactly its length (not a slice of Node's shared pool)
            this.#assembly = Buffer.allocUnsafeSlow(len);
          }
        }
      } else {
        // assembling a message spread over chunks
        const a = this.#assembly!;
        const take = Math.min(n - pos, this.#length - this.#filled);
        a.set(take === n && pos === 0 ? chunk : chunk.subarray(pos, pos + take), this.#filled);
        this.#filled += take;
        pos += take;
        if (this.#filled === this.#length) {
          this.#reset();
          this.#onMessage(a);
        }
      }
    }
  }

  /** The call's data has ended: throws GrpcError INTERNAL if a message is incomplete. */
  end(): void {
    if (this.#error !== null) throw this.#error;
    if (this.#length >= 0) {
      throw this.#fail(Status.INTERNAL, `the stream ended inside a message: ${this.#filled} of its ${this.#length} bytes arrived`);
    }
    if (this.#have > 0) {
      throw this.#fail(Status.INTERNAL, `the stream ended inside a message prefix: ${this.#have} of its 5 bytes arrived`);
    }
  }

  #begin(flag: number, length: number): void {
    if (flag !== 0) {
      if (flag === 1) throw this.#fail(Status.INTERNAL, "received a compressed message, but no grpc-encoding was negotiated (only identity is supported)");
      throw this.#fail(Status.INTERNAL, `invalid gRPC message flag byte ${flag} (expected 0 or 1)`);
    }
    if (length > this.#max) {
      throw this.#fail(Status.RESOURCE_EXHAUSTED, `received a message of ${length} bytes, larger than the limit of ${this.#max} bytes`);
    }
    this.#have = 0;
    this.#length = length;
    this.#filled = 0;
  }

  #reset(): void {
    this.#length = -1;
    this.#have = 0;
    this.#filled = 0;
    this.#assembly = null;
  }

  #fail(code: Status, details: string): GrpcError {
    this.#error = new GrpcError(code, details);
    this.#assembly = null;
    return this.#error;
  }
}
