export * from "./errors.js";
export * from "./tag.js";
export * from "./varint.js";
export * from "./utf8.js";
export { Reader, DEFAULT_MAX_DEPTH, type ReadOptions } from "./reader.js";
