export * from "./types.js";
export * from "./enum.js";
export * from "./file.js";
export * from "./registry.js";
export * from "./create.js";
export * from "./equals.js";
export * from "./clone.js";
export * from "./presence.js";
