/** @module The wire: frame kinds, codec and limits. Pure: no I/O. */
export * from "./frame.ts";
export * from "./codec.ts";
export * from "./limits.ts";
export * from "./wire-error.ts";
export { checkValue } from "./value-check.ts";
export { screenCallMeta } from "./meta-scan.ts";
