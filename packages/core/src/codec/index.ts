export * from "./encoder.js";
export * from "./message.js";
export * from "./checks.js";
export * from "./fields.js";
