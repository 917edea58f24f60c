export * from "./encoder.js";
export * from "./message.js";
export * from "./checks.js";
export * from "./fields.js";
export * from "./service.js";
