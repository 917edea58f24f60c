/**
 * Well-known-type helpers: `google.protobuf.Timestamp`, `Duration`, `Any`, `Struct`/`Value`/`ListValue`
 * and the wrapper types. They work structurally on the messages `sgwire compile` generates for
 * google/protobuf/*.proto: the interfaces here match the generated ones, so generated objects can be
 * passed in and the results encoded with the generated codecs.
 */

export {
  type Timestamp,
  TIMESTAMP_MIN_SECONDS,
  TIMESTAMP_MAX_SECONDS,
  validateTimestamp,
  timestampFromMs,
  timestampToMs,
  timestampFromDate,
  timestampToDate,
  timestampFromNanos,
  timestampToNanos,
  timestampNow,
} from "./timestamp.js";
export {
  type Duration,
  DURATION_MAX_SECONDS,
  validateDuration,
  durationFromMs,
  durationToMs,
  durationFromSeconds,
  durationToSeconds,
  durationFromNanos,
  durationToNanos,
} from "./duration.js";
export {
  type NullValue,
  type Struct,
  type Value,
  type ListValue,
  type JsonValue,
  type JsonObject,
  type JsonConversionOptions,
  DEFAULT_JSON_MAX_DEPTH,
  valueFromJson,
  valueToJson,
  structFromJson,
  structToJson,
  listValueFromJson,
  listValueToJson,
} from "./struct.js";
export {
  type Wrapper,
  type DoubleValue,
  type FloatValue,
  type Int64Value,
  type UInt64Value,
  type Int32Value,
  type UInt32Value,
  type BoolValue,
  type StringValue,
  type BytesValue,
  wrapDouble,
  wrapFloat,
  wrapInt32,
  wrapUInt32,
  wrapInt64,
  wrapUInt64,
  wrapBool,
  wrapString,
  wrapBytes,
  unwrap,
} from "./wrappers.js";
export {
  type Any,
  DEFAULT_TYPE_URL_PREFIX,
  parseTypeUrl,
  typeUrlOf,
  anyPack,
  anyIs,
  anyUnpack,
} from "./any.js";
