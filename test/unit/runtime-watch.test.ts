/** watchFiles on a real directory: it reacts to its files and to Kubernetes' volume swap only. */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { watchFiles } from "../../src/runtime/watch.js";
import { silentLog, type Log } from "../../src/runtime/log.js";

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("watchFiles", () => {
  it("fires for a watched file and for a ..data swap, not for another file in the directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "irsa-watch-"));
    const file = join(dir, "config.yaml");
    writeFileSync(file, "a: 1\n");
    let changes = 0;
    const logged: string[] = [];
    const log: Log = { ...silentLog, debug: (o) => logged.push(String((o as { file?: unknown }).file)) };
    const w = watchFiles([file], () => changes++, log, 3_600_000);
    try {
      await settle(200);
      for (let i = 0; i < 5; i++) writeFileSync(join(dir, "app.log"), `line ${i}\n`, { flag: "a" });
      await settle(400);
      assert.equal(changes, 0, "a log file beside the config is not a change");
      assert.deepEqual(logged, [], "and is not logged");

      writeFileSync(file, "a: 2\n");
      await settle(400);
      assert.equal(changes, 1, "the watched file changed");

      // A Secret volume update: a new timestamped folder, then `..data` swapped to it.
      mkdirSync(join(dir, "..2026_12_02"));
      symlinkSync("..2026_12_02", join(dir, "..data_tmp"));
      renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
      await settle(400);
      assert.equal(changes, 2, "the volume swap is a change");
    } finally {
      w.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
