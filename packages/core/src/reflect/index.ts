export * from "./types.js";
export * from "./enum.js";
export * from "./file.js";
export * from "./registry.js";
