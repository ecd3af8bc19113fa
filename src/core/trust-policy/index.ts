/** IAM trust policies: parse (problems name their path) and evaluate (the deciding statement). */
export * from "./evaluate.js";
export * from "./policy.js";
