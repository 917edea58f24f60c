export * from "./sg-list.js";
export * from "./copy-policy.js";
