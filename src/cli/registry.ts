/** Every `irsa` subcommand. New commands register here. */
import type { Command } from "./command.js";
import { discovery, jwks } from "./commands/documents.js";
import { keysGenerate, keysKid } from "./commands/keys.js";
import { mutate } from "./commands/mutate.js";
import { webhook } from "./commands/webhook.js";

export const COMMANDS: readonly Command[] = [keysGenerate, keysKid, jwks, discovery, mutate, webhook];
