export * from "./ref-buffer.js";
