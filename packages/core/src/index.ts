export * from "./wire/index.js";
export * from "./sg/index.js";
export * from "./memory/index.js";
export * from "./codec/index.js";
export * from "./wkt/index.js";
export * from "./reflect/index.js";
export * from "./json/index.js";
export * from "./text/index.js";
