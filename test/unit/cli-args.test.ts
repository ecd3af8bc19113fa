import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCommandArgs, type Command } from "../../src/cli/command.js";
import { IrsaError } from "../../src/core/errors.js";

const cmd: Command = {
  path: ["t"],
  summary: "",
  help: "",
  options: {
    on: { type: "boolean", default: true },
    off: { type: "boolean" },
    name: { type: "string" },
  },
  run: () => Promise.resolve(0),
};

describe("Go-style boolean flags", () => {
  const table: [string[], boolean, boolean | undefined][] = [
    [[], true, undefined],
    [["--off"], true, true],
    [["--off=true"], true, true],
    [["--off=1"], true, true],
    [["--off=false"], true, false],
    [["--on=false"], false, undefined],
    [["--on=0", "--on=True"], true, undefined],
    [["--on", "--on=false"], false, undefined],
    [["--off=T", "--off=F"], true, false],
  ];
  for (const [argv, on, off] of table) {
    it(`${argv.join(" ") || "(none)"} -> on=${on} off=${String(off)}`, () => {
      const { values } = parseCommandArgs(cmd, argv);
      assert.equal(values.on, on);
      assert.equal(values.off, off);
    });
  }

  it("refuses a value Go's ParseBool would refuse", () => {
    assert.throws(
      () => parseCommandArgs(cmd, ["--off=yes"]),
      (e: unknown) =>
        e instanceof IrsaError &&
        e.code === "USAGE" &&
        /--off takes true or false, got "yes"/.test(e.message),
    );
  });

  it("leaves string flags and arguments after -- alone", () => {
    const { values } = parseCommandArgs(cmd, ["--name=false"]);
    assert.equal(values.name, "false");
  });
});
