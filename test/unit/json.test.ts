/**
 * The checked JSON reads every document parser shares (src/core/json.ts): what counts as an
 * object, how a value's type is named, how a field path is written, and each Fields reader's
 * answer for an absent, null, mistyped or present field. The error codes and typed errors
 * (src/core/errors.ts) too.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IrsaError, isIrsaError } from "../../src/core/errors.js";
import { Fields, fieldPath, isObject, parseJsonObject, typeName } from "../../src/core/json.js";

const f = new Fields((path, problem) => new IrsaError("INPUT_INVALID", `${path}: ${problem}`));

function refuses(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof IrsaError, String(e));
    assert.equal(e.code, "INPUT_INVALID");
    assert.equal(e.message, message);
    return true;
  });
}

describe("isObject and typeName", () => {
  it("an object is a non-null, non-array object", () => {
    assert.equal(isObject({}), true);
    assert.equal(isObject({ a: 1 }), true);
    for (const v of [null, [], [1], "x", 1, true, undefined]) assert.equal(isObject(v), false, String(v));
  });
  it("names a value's JSON type with its article", () => {
    const cases: [unknown, string][] = [
      [null, "null"],
      [[], "an array"],
      [{}, "an object"],
      [undefined, "nothing"],
      [1, "a number"],
      ["x", "a string"],
      [true, "a boolean"],
    ];
    for (const [v, want] of cases) assert.equal(typeName(v), want);
  });
});

describe("parseJsonObject", () => {
  const bad = (problem: string) => new Error(problem);
  it("returns the object a text holds", () => {
    assert.deepEqual(parseJsonObject('{"a":[1]}', bad), { a: [1] });
  });
  it("refuses text that is not JSON with JSON.parse's own message", () => {
    let parseMessage = "";
    try {
      JSON.parse("{");
    } catch (e) {
      parseMessage = (e as Error).message;
    }
    assert.throws(() => parseJsonObject("{", bad), { message: parseMessage });
  });
  it("refuses JSON that is not an object, naming what it is", () => {
    assert.throws(() => parseJsonObject("[]", bad), { message: "expected an object, got an array" });
    assert.throws(() => parseJsonObject("null", bad), { message: "expected an object, got null" });
  });
});

describe("fieldPath", () => {
  it("joins a plain identifier with a dot, or stands alone at the root", () => {
    assert.equal(fieldPath("", "a"), "a");
    assert.equal(fieldPath("spec", "containers"), "spec.containers");
    assert.equal(fieldPath("p", "_x9"), "p._x9");
    assert.equal(fieldPath("p", "Z_"), "p.Z_");
  });
  it("quotes any other key in brackets, at the root too", () => {
    assert.equal(fieldPath("m", "eks.amazonaws.com/role-arn"), 'm["eks.amazonaws.com/role-arn"]');
    assert.equal(fieldPath("m", "9a"), 'm["9a"]');
    assert.equal(fieldPath("m", "a-b"), 'm["a-b"]');
    assert.equal(fieldPath("m", "a b"), 'm["a b"]');
    assert.equal(fieldPath("m", "-a"), 'm["-a"]');
    assert.equal(fieldPath("m", ""), 'm[""]');
    assert.equal(fieldPath("", "a.b"), '["a.b"]');
  });
});

describe("Fields", () => {
  it("optObject: absent or null is undefined; another type is refused with its path", () => {
    assert.equal(f.optObject({}, "o", "p"), undefined);
    assert.equal(f.optObject({ o: null }, "o", "p"), undefined);
    assert.deepEqual(f.optObject({ o: { x: 1 } }, "o", "p"), { x: 1 });
    refuses(() => f.optObject({ o: [] }, "o", "p"), "p.o: expected an object, got an array");
    refuses(() => f.optObject({ o: "s" }, "o", ""), "o: expected an object, got a string");
  });
  it("reqObject: absent or null is refused as missing", () => {
    refuses(() => f.reqObject({}, "o", "p"), "p.o: required object is missing");
    refuses(() => f.reqObject({ o: null }, "o", "p"), "p.o: required object is missing");
    assert.deepEqual(f.reqObject({ o: {} }, "o", "p"), {});
  });
  it("optBoolean: absent or null is undefined; false is kept; another type is refused", () => {
    assert.equal(f.optBoolean({}, "b", "p"), undefined);
    assert.equal(f.optBoolean({ b: null }, "b", "p"), undefined);
    assert.equal(f.optBoolean({ b: false }, "b", "p"), false);
    assert.equal(f.optBoolean({ b: true }, "b", "p"), true);
    refuses(() => f.optBoolean({ b: "true" }, "b", "p"), "p.b: expected a boolean, got a string");
  });
  it("optArray: absent or null is undefined; an object is refused", () => {
    assert.equal(f.optArray({}, "a", "p"), undefined);
    assert.equal(f.optArray({ a: null }, "a", "p"), undefined);
    assert.deepEqual(f.optArray({ a: [1, "x"] }, "a", "p"), [1, "x"]);
    refuses(() => f.optArray({ a: {} }, "a", "p"), "p.a: expected an array, got an object");
  });
  it("optString, reqString, nonEmptyString: absent, null, mistyped and empty", () => {
    assert.equal(f.optString({}, "s", "p"), undefined);
    assert.equal(f.optString({ s: null }, "s", "p"), undefined);
    assert.equal(f.optString({ s: "" }, "s", "p"), "");
    refuses(() => f.optString({ s: 1 }, "s", "p"), "p.s: expected a string, got a number");
    refuses(() => f.reqString({}, "s", "p"), "p.s: required string is missing");
    refuses(() => f.reqString({ s: null }, "s", "p"), "p.s: required string is missing");
    assert.equal(f.reqString({ s: "" }, "s", "p"), "");
    refuses(() => f.nonEmptyString({ s: "" }, "s", "p"), "p.s: must not be empty");
    refuses(() => f.nonEmptyString({}, "s", "p"), "p.s: required string is missing");
    assert.equal(f.nonEmptyString({ s: "v" }, "s", "p"), "v");
  });
  it("optObjectArray: each element must be an object, refused with its index", () => {
    assert.equal(f.optObjectArray({}, "a", "p"), undefined);
    assert.equal(f.optObjectArray({ a: null }, "a", "p"), undefined);
    assert.deepEqual(f.optObjectArray({ a: [{}, { x: 1 }] }, "a", "p"), [{}, { x: 1 }]);
    refuses(() => f.optObjectArray({ a: [{}, 1] }, "a", "p"), "p.a[1]: expected an object, got a number");
    refuses(() => f.optObjectArray({ a: [null] }, "a", ""), "a[0]: expected an object, got null");
    refuses(() => f.optObjectArray({ a: "x" }, "a", "p"), "p.a: expected an array, got a string");
  });
  it("optStringMap: every value a string, a bad one named by its key", () => {
    assert.equal(f.optStringMap({}, "m", "p"), undefined);
    assert.equal(f.optStringMap({ m: null }, "m", "p"), undefined);
    assert.deepEqual(f.optStringMap({ m: { a: "1", "b/c": "" } }, "m", "p"), { a: "1", "b/c": "" });
    refuses(() => f.optStringMap({ m: { a: 1 } }, "m", "p"), "p.m.a: expected a string, got a number");
    refuses(
      () => f.optStringMap({ m: { "b/c": true } }, "m", "p"),
      'p.m["b/c"]: expected a string, got a boolean',
    );
    refuses(() => f.optStringMap({ m: [] }, "m", "p"), "p.m: expected an object, got an array");
  });
  it("element: the item at an index, which must be an object", () => {
    assert.deepEqual(f.element([{ a: 1 }], 0, "x"), { a: 1 });
    refuses(() => f.element([{}, []], 1, "x"), "x[1]: expected an object, got an array");
  });
  it("fail: the document's own error for a path and a problem", () => {
    const e = f.fail("p.q", "wrong");
    assert.ok(e instanceof IrsaError);
    assert.equal(e.message, "p.q: wrong");
  });
});

describe("IrsaError", () => {
  it("carries its code, hint and cause, and is named IrsaError", () => {
    const cause = new Error("inner");
    const e = new IrsaError("USAGE", "bad flag", "use --x", { cause });
    assert.equal(e.name, "IrsaError");
    assert.equal(e.code, "USAGE");
    assert.equal(e.hint, "use --x");
    assert.equal(e.cause, cause);
    assert.equal(e.message, "bad flag");
    assert.ok(e instanceof Error);
  });
  it("describes itself as the message, then the hint on its own indented line", () => {
    assert.equal(new IrsaError("USAGE", "bad flag", "use --x").describe(), "bad flag\n  hint: use --x");
    assert.equal(new IrsaError("USAGE", "bad flag").describe(), "bad flag");
    assert.equal(new IrsaError("USAGE", "bad flag").hint, undefined);
  });
  it("isIrsaError is true only for an IrsaError", () => {
    assert.equal(isIrsaError(new IrsaError("USAGE", "x")), true);
    assert.equal(isIrsaError(new Error("x")), false);
    assert.equal(isIrsaError({ code: "USAGE", message: "x" }), false);
  });
});
