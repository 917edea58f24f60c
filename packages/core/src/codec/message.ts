import { SgList } from "../sg/sg-list.js";
import { resolveCopyPolicyCached, type CopyPolicy } from "../sg/copy-policy.js";
import { acquireEncoder, releaseEncoder, CHANGED, SPLIT_MAX, type Encoder } from "./encoder.js";
import { MAX_LENGTH, tooLarge } from "./checks.js";
import { Reader, type ReadOptions } from "../wire/reader.js";
import { DecodeError, EncodeError } from "../wire/errors.js";
import { createMessage, type MessageInit } from "../reflect/create.js";
import { fieldFromSpec, type FieldInfo, type FieldSpec, type OneofInfo, type OneofSpec } from "../reflect/types.js";

/** Size pass of a generated message: returns the encoded body size (without tag or length). */
export type SizeFn<T> = (m: T, e: Encoder) => number;
/** Write pass of a generated message: writes the body in field-number order. */
export type WriteFn<T> = (m: T, e: Encoder) => void;
/**
 * Decoder of a generated message. Reads fields until `r.pos === end` (length-delimited) or until
 * the END_GROUP of field `group` (group-delimited, `group` > 0), merging into `target` if given.
 */
export type ReadFn<T> = (r: Reader, end: number, group: number, target: T | undefined) => T;

/** Options of toBinary and encodeInto (and, with the copy policy, of encode). */
export interface BinaryWriteOptions {
  /**
   * Deterministic serialization, as protobuf C++'s SetSerializationDeterministic: map entries are
   * written sorted by key (integer keys in numeric order, false before true, string keys by their
   * UTF-8 bytes) instead of in the objects' property order. Everything else is already written
   * in one order (fields by number, extensions among them, unknown fields last). The size does
   * not change. Default false.
   */
  deterministic?: boolean;
}

export interface EncodeOptions extends CopyPolicy, BinaryWriteOptions {
  /**
   * An SgList to reuse: it is reset and its scratch memory reused (grown if needed), so a steady
   * stream of encodes allocates nothing for copied fields. Segments previously handed out from
   * it become invalid.
   */
  into?: SgList;
}

/** The codec generated for a message type `T`. */
export interface MessageType<T> {
  /** Fully qualified protobuf name, e.g. "shop.Order.Item". */
  readonly typeName: string;
  /**
   * Encodes `msg` as a scatter-gather list whose concatenation is the canonical protobuf
   * encoding. Bytes fields at or above the copy threshold appear as segments that are the
   * caller's own Uint8Arrays: they must not be mutated until the list has been consumed (the
   * send completed).
   */
  encode(msg: T, options?: EncodeOptions): SgList;
  /**
   * The same bytes as `encode`, every field copied, in a new Uint8Array that owns its ArrayBuffer:
   * `out.buffer` holds exactly these bytes, and transferring or detaching it affects nothing else.
   */
  toBinary(msg: T, options?: BinaryWriteOptions): Uint8Array;
  /**
   * Writes the same bytes as `toBinary` into `target` from `offset` (default 0) and returns the
   * offset just past them. Nothing is allocated: for a stream of messages into memory the caller
   * manages (a ring, a pooled buffer), where `toBinary` would allocate one ArrayBuffer per message.
   * Throws a RangeError naming the size needed if the message does not fit (nothing is written);
   * on an EncodeError, bytes of `target` from `offset` up to the message's size are unspecified
   * and nothing past them is touched.
   */
  encodeInto(msg: T, target: Uint8Array, offset?: number, options?: BinaryWriteOptions): number;
  /**
   * Decodes `bytes`. Bytes fields and preserved unknown fields are views of `bytes` (no copies):
   * they are valid as long as `bytes` is, and see any later change to it.
   */
  fromBinary(bytes: Uint8Array, options?: ReadOptions): T;
  /** Bytes that `toBinary(msg)` would produce. */
  encodedSize(msg: T): number;
  /**
   * A new message with every implicit-presence field at its default. With `init`, its properties
   * are set and nested messages (message fields, elements of repeated message fields, map values,
   * oneof message values) may be partial inits too: each is built with its own type's defaults
   * (one that is a message already, from create() or fromBinary, is used as it is). Arrays and
   * maps are new containers; bytes are taken as they are, not copied. A field the type does not
   * have, or a value of the wrong shape, is a TypeError naming its path.
   */
  create(init?: MessageInit<T>): T;
  /**
   * The value each singular scalar or enum field has when it is absent: the declared
   * `[default = ...]` (proto2) or the type's zero. Fields with presence decode as `undefined` when
   * absent; read them as `msg.f ?? M.defaults.f`.
   */
  readonly defaults: Readonly<Partial<T>>;
  /**
   * Reflection: the message's fields in field-number order (oneof members included). Read lazily,
   * so types of other modules are resolved by the time it is first used. Throws for a codec built
   * without reflection data (by hand, or by an older generator).
   */
  readonly fields: readonly FieldInfo[];
  /** Reflection: the message's oneofs, in declaration order. */
  readonly oneofs: readonly OneofInfo[];
  /** Reflection: the field with this number, or undefined. */
  field(number: number): FieldInfo | undefined;
  /**
   * Reflection: the field names the message reserves (`reserved "old_name";`), in declaration
   * order; the text format skips them on input, as protobuf C++ does.
   */
  readonly reservedNames: readonly string[];
  /** @internal generated code of other modules calls these */
  readonly $size: SizeFn<T>;
  /** @internal */
  readonly $write: WriteFn<T>;
  /** @internal */
  readonly $read: ReadFn<T>;
}

export interface MessageParts<T> {
  typeName: string;
  size: SizeFn<T>;
  write: WriteFn<T>;
  read: ReadFn<T>;
  create: () => T;
  /** copy threshold chosen at generation time (`sgwire compile --copy-threshold`) */
  copyThreshold?: number;
  defaults?: Partial<T>;
  /** reflection: the fields (see FieldSpec), in field-number order; a thunk, as it names other types */
  fields?: () => FieldSpec[];
  /** reflection: the oneofs, in declaration order */
  oneofs?: OneofSpec[];
  /** reflection: the names of fields the message reserves, in declaration order */
  reservedNames?: string[];
}

interface Reflection {
  fields: readonly FieldInfo[];
  oneofs: readonly OneofInfo[];
  byNumber: Map<number, FieldInfo>;
}

function reflect(typeName: string, p: MessageParts<unknown>): Reflection {
  if (p.fields === undefined) {
    throw new Error(`${typeName} has no reflection data: regenerate it with this version of sgwire compile`);
  }
  const fields = Object.freeze(p.fields().map((s) => fieldFromSpec(s, typeName)));
  const oneofs = Object.freeze((p.oneofs ?? []).map(([name, localName]) => Object.freeze({
    name,
    localName,
    fields: Object.freeze(fields.filter((f) => f.oneof === localName)),
  })));
  return { fields, oneofs, byNumber: new Map(fields.map((f) => [f.number, f])) };
}

/** Why an encode of a message that contains itself (or is nested past the JS stack) fails. */
const TOO_DEEP = "message nested too deeply to encode (does it contain itself?)";

/** V8's RangeError for a recursion that ran out of stack (catchable once it has unwound). */
function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack size/i.test(err.message);
}

function sizeTop<T>(size: SizeFn<T>, m: T, e: Encoder, typeName: string): number {
  if (m === null || typeof m !== "object") {
    throw new EncodeError(`expected a message object, got ${m === null ? "null" : typeof m}`, typeName);
  }
  let n: number;
  try {
    n = size(m, e);
  } catch (err) {
    if (err instanceof EncodeError) throw err.under(typeName);
    // The size pass recurses once per nesting level: a message that contains itself, or one
    // nested deeper than the JS stack allows, must fail as a bad message, not a RangeError.
    if (isStackOverflow(err)) throw new EncodeError(TOO_DEEP, typeName);
    throw err;
  }
  if (n > MAX_LENGTH) tooLarge(typeName, n);
  return n;
}

/**
 * Write pass of a top-level encode into `e` (started with startWrite). The message is read a
 * second time here: if what is written differs from what the size pass measured (a getter or
 * Proxy returning something else, a concurrent change), the encode fails with an EncodeError
 * naming the field or message rather than handing out a list whose length or bytes are wrong.
 */
function writeTop<T>(write: WriteFn<T>, m: T, e: Encoder, total: number, copied: number, typeName: string): void {
  try {
    write(m, e);
    e.finishWrite();
  } catch (err) {
    e.abortWrite();
    if (err instanceof EncodeError) throw err.under(typeName);
    if (isStackOverflow(err)) throw new EncodeError(TOO_DEEP, typeName);
    // a changed value can make the write pass run past its buffer (TypedArray.set, subarray)
    if (err instanceof RangeError) throw new EncodeError(CHANGED, typeName);
    throw err;
  }
  if (e.pos !== copied || e.at() !== total) throw new EncodeError(CHANGED, typeName);
}

/** Builds the public codec of a message from its generated passes. */
export function defineMessage<T>(p: MessageParts<T>): MessageType<T> {
  const { typeName, size, write, read, create } = p;
  let reflection: Reflection | undefined;
  const reflected = (): Reflection => (reflection ??= reflect(typeName, p as MessageParts<unknown>));
  const type: MessageType<T> = {
    typeName,
    get fields() {
      return reflected().fields;
    },
    get oneofs() {
      return reflected().oneofs;
    },
    field(number: number): FieldInfo | undefined {
      return reflected().byNumber.get(number);
    },
    reservedNames: Object.freeze([...(p.reservedNames ?? [])]),
    $size: size,
    $write: write,
    $read: read,
    defaults: Object.freeze({ ...p.defaults }) as Readonly<Partial<T>>,
    create(init?: MessageInit<T>): T {
      return init === undefined ? create() : createMessage(type, init);
    },
    encode(msg: T, options?: EncodeOptions): SgList {
      const policy = resolveCopyPolicyCached(options, p.copyThreshold);
      const e = acquireEncoder();
      try {
        e.begin(policy, options?.deterministic === true);
        const total = sizeTop(size, msg, e, typeName);
        if (e.nRefs > 0 && policy.maxSegments !== Infinity) e.fitSegments(policy.maxSegments);
        const copied = total - e.refBytes;
        let list = options?.into;
        if (list === undefined) {
          if (e.nRefs > 0 && copied <= SPLIT_MAX) {
            list = new SgList(0);
            e.startSplitWrite(list);
          } else {
            list = new SgList(copied);
            e.startWrite(list.scratch, list);
          }
        } else e.startWrite(list.reserveScratch(copied), list);
        try {
          writeTop(write, msg, e, total, copied, typeName);
        } catch (err) {
          // a failed encode leaves nothing readable in the caller's list
          list.reset();
          throw err;
        }
        list.byteLength = total;
        list.bytesCopied = copied;
        list.bytesReferenced = e.refBytes;
        list.referenceCount = e.nRefs;
        return list;
      } finally {
        releaseEncoder(e);
      }
    },
    toBinary(msg: T, options?: BinaryWriteOptions): Uint8Array {
      const e = acquireEncoder();
      try {
        e.begin(null, options?.deterministic === true);
        const total = sizeTop(size, msg, e, typeName);
        // its own ArrayBuffer: transferring or detaching it affects no other output or encode
        const out = new Uint8Array(total);
        e.startWrite(out, null);
        writeTop(write, msg, e, total, total, typeName);
        return out;
      } finally {
        releaseEncoder(e);
      }
    },
    encodeInto(msg: T, target: Uint8Array, offset = 0, options?: BinaryWriteOptions): number {
      if (!(target instanceof Uint8Array)) {
        throw new TypeError(`${typeName}.encodeInto: target must be a Uint8Array, got ${target === null ? "null" : typeof target}`);
      }
      if (!Number.isInteger(offset) || offset < 0 || offset > target.length) {
        throw new RangeError(`${typeName}.encodeInto: offset must be an integer from 0 to target.length (${target.length}), got ${String(offset)}`);
      }
      const e = acquireEncoder();
      try {
        e.begin(null, options?.deterministic === true);
        const total = sizeTop(size, msg, e, typeName);
        if (total > target.length - offset) {
          throw new RangeError(`${typeName}.encodeInto: the message needs ${total} bytes, target has ${target.length - offset} from offset ${offset}`);
        }
        // a view bounded to the message: a value that changed between the passes cannot write
        // past it into the caller's other bytes
        e.startWrite(offset === 0 && total === target.length ? target : target.subarray(offset, offset + total), null);
        writeTop(write, msg, e, total, total, typeName);
        return offset + total;
      } finally {
        releaseEncoder(e);
      }
    },
    encodedSize(msg: T): number {
      const e = acquireEncoder();
      try {
        e.begin(null);
        return sizeTop(size, msg, e, typeName);
      } finally {
        releaseEncoder(e);
      }
    },
    fromBinary(bytes: Uint8Array, options?: ReadOptions): T {
      if (!(bytes instanceof Uint8Array)) {
        throw new TypeError(`${typeName}.fromBinary: expected a Uint8Array, got ${bytes === null ? "null" : typeof bytes}`);
      }
      const r = new Reader(bytes, options);
      // The root message is not nesting: maxDepth counts the messages and groups below it, as
      // protobuf C++ and upb do (100 nested levels pass by default, 101 do not).
      r.depth = -1;
      try {
        return read(r, bytes.length, 0, undefined);
      } catch (err) {
        if (err instanceof DecodeError) throw new DecodeError(`cannot decode ${typeName}: ${err.message}`, err.offset);
        // only with a maxDepth raised past what the JS stack holds
        if (isStackOverflow(err)) throw new DecodeError(`cannot decode ${typeName}: message nesting too deep for the JavaScript stack (lower maxDepth)`, r.pos);
        throw err;
      }
    },
  };
  return type;
}

/** Reads a length-delimited nested message (the tag has been read). */
export function readMessage<T>(r: Reader, read: ReadFn<T>, target: T | undefined): T {
  const e = r.lenEnd();
  const saved = r.end;
  r.end = e;
  const m = read(r, e, 0, target);
  r.end = saved;
  return m;
}

/** Reads a group-delimited nested message (the START_GROUP tag for `field` has been read). */
export function readGroup<T>(r: Reader, read: ReadFn<T>, field: number, target: T | undefined): T {
  return read(r, r.end, field, target);
}

/** Prepends a field name to an EncodeError thrown while sizing a nested message. */
export function nestedError(err: unknown, field: string): never {
  if (err instanceof EncodeError) throw err.under(field);
  throw err;
}
