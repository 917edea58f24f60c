export * from "./status.js";
export * from "./metadata.js";
export * from "./types.js";
export * from "./grpcjs.js";
export * from "./frame.js";
export * from "./headers.js";
export * from "./channel.js";
export * from "./client.js";
