/**
 * Helpers for `google.protobuf.Any`: pack a message into an Any, check what an Any holds, unpack
 * it through its type or a registry (createRegistry), and parse type URLs.
 */

import type { MessageType } from "../codec/message.js";
import type { Registry } from "../reflect/registry.js";
import type { ReadOptions } from "../wire/reader.js";
import { describe } from "./util.js";

/**
 * The shape of generated `google.protobuf.Any` messages (`sgwire compile` output for
 * google/protobuf/any.proto): a type URL and the message's binary encoding.
 */
export interface Any {
  /** "type.googleapis.com/package.Message": the message's full name after the last '/' */
  typeUrl: string;
  /** the message's protobuf encoding */
  value: Uint8Array;
  /** fields this schema does not know, kept as raw tag+value bytes (views of the input) */
  $unknown?: Uint8Array[];
}

/** The prefix protobuf uses for type URLs. */
export const DEFAULT_TYPE_URL_PREFIX = "type.googleapis.com";

/**
 * The parts of a type URL: what precedes the last '/' and the fully qualified message name after
 * it ("type.googleapis.com/shop.Order" -> prefix "type.googleapis.com", typeName "shop.Order").
 * @throws TypeError when `url` is not a string, has no '/', or nothing after its last '/'
 */
export function parseTypeUrl(url: string): { prefix: string; typeName: string } {
  if (typeof url !== "string") throw new TypeError(`parseTypeUrl: expected a string, got ${describe(url)}`);
  const typeName = typeNameOfUrl(url);
  if (typeName === undefined) {
    throw new TypeError(`type URL ${JSON.stringify(url)} is not of the form "type.googleapis.com/package.Message"`);
  }
  return { prefix: url.slice(0, url.length - typeName.length - 1), typeName };
}

/**
 * The message name a type URL names (after its last '/'), or undefined when it has no '/' or
 * nothing after it. ProtoJSON and the text format resolve Any through it.
 */
export function typeNameOfUrl(url: string): string | undefined {
  const slash = url.lastIndexOf("/");
  return slash < 0 || slash === url.length - 1 ? undefined : url.slice(slash + 1);
}

/** The type URL of a message type: `prefix` + "/" + its full name. */
export function typeUrlOf(type: MessageType<unknown> | string, prefix = DEFAULT_TYPE_URL_PREFIX): string {
  const name = typeof type === "string" ? type : type.typeName;
  return prefix.endsWith("/") ? prefix + name : `${prefix}/${name}`;
}

/**
 * An Any holding `msg` of `type` (its binary encoding, every field copied).
 * @throws EncodeError when `msg` does not encode (as `type.toBinary`)
 */
export function anyPack<T>(type: MessageType<T>, msg: T, typeUrlPrefix = DEFAULT_TYPE_URL_PREFIX): Any {
  if (type === null || typeof type !== "object" || typeof type.toBinary !== "function") {
    throw new TypeError(`anyPack: expected a generated message type, got ${describe(type)}`);
  }
  return { typeUrl: typeUrlOf(type.typeName, typeUrlPrefix), value: type.toBinary(msg) };
}

function checkAny(any: unknown, fn: string): asserts any is Any {
  if (any === null || typeof any !== "object" || typeof (any as Any).typeUrl !== "string") {
    throw new TypeError(`${fn}: expected a google.protobuf.Any object with a typeUrl string, got ${describe(any)}`);
  }
}

/**
 * Whether `any` holds a message of `type` (a generated type or a full name such as "shop.Order"):
 * its type URL's name after the last '/' is that name. An empty or malformed type URL holds nothing.
 */
export function anyIs(any: Any, type: MessageType<unknown> | string): boolean {
  checkAny(any, "anyIs");
  const name = typeof type === "string" ? type : type.typeName;
  return typeNameOfUrl(any.typeUrl) === name;
}

function isRegistry(x: object): x is Registry {
  return typeof (x as Registry).getMessage === "function";
}

/**
 * The message `any` holds, decoded with `type` — or undefined when it holds another type — or
 * looked up in a registry by the type URL's name — undefined when the registry does not have it.
 * Bytes fields of the result are views of `any.value` (as fromBinary returns them).
 * @throws TypeError for a malformed type URL; DecodeError when the value does not decode as the type
 */
export function anyUnpack<T>(any: Any, type: MessageType<T>, options?: ReadOptions): T | undefined;
export function anyUnpack(any: Any, registry: Registry, options?: ReadOptions): unknown;
export function anyUnpack(any: Any, registryOrType: Registry | MessageType<unknown>, options?: ReadOptions): unknown {
  checkAny(any, "anyUnpack");
  if (registryOrType === null || typeof registryOrType !== "object") {
    throw new TypeError(`anyUnpack: expected a message type or a registry, got ${describe(registryOrType)}`);
  }
  const value = any.value ?? new Uint8Array(0);
  if (isRegistry(registryOrType)) {
    const type = registryOrType.getMessage(parseTypeUrl(any.typeUrl).typeName);
    return type === undefined ? undefined : type.fromBinary(value, options);
  }
  if (!anyIs(any, registryOrType)) return undefined;
  return registryOrType.fromBinary(value, options);
}
