/** Randomness for the core's injectable sources, from node:crypto. */
import { randomInt } from "node:crypto";
import type { JitterSource } from "../core/mutate/config.js";

/** An integer in [0, bound), uniformly from the CSPRNG; [0, 1) is 0. */
export const randomJitter: JitterSource = (bound) => (bound > 1 ? randomInt(Math.floor(bound)) : 0);
