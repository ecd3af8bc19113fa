/** `irsa doctor`'s pure part: facts in, findings out. */
export * from "./check.js";
export * from "./diagnose.js";
export * from "./facts.js";
export * from "./report.js";
