/**
 * emptyManagedFields: the text JSON.parse then reads has every managedFields array emptied, and
 * nothing else differs; a text JSON.parse refuses is left unchanged (so it is refused with
 * JSON.parse's own message).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { emptyManagedFields } from "../../src/core/skip-managed-fields.js";

const FIXTURE = new URL("../../../test/fixtures/admission-review/pod-create.json", import.meta.url);

/** What emptyManagedFields must be equivalent to: every managedFields array member emptied. */
function emptied(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(emptied);
  if (typeof v !== "object" || v === null) return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [k, k === "managedFields" && Array.isArray(x) ? [] : emptied(x)]),
  );
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe("emptyManagedFields", () => {
  it("empties the managedFields of kube-apiserver's own review, and nothing else", () => {
    const text = JSON.stringify(JSON.parse(readFileSync(FIXTURE, "utf8")));
    const out = emptyManagedFields(text);
    assert.ok(out.length < text.length / 2 + 1000, "about half the bytes are managedFields");
    assert.deepEqual(JSON.parse(out), emptied(JSON.parse(text)));
  });

  const cases: [string, string, string][] = [
    ["no managedFields", '{"a":[1]}', '{"a":[1]}'],
    [
      "one",
      '{"metadata":{"managedFields":[{"f:x":{}}],"name":"p"}}',
      '{"metadata":{"managedFields":[],"name":"p"}}',
    ],
    [
      "two, with spaces",
      '{"a":{ "managedFields" : [1]},"b":{"managedFields": [ {"k:{\\"a\\"}":[]} ] }}',
      '{"a":{ "managedFields" : [1]},"b":{"managedFields": [] }}',
    ],
    ["already empty", '{"managedFields":[]}', '{"managedFields":[]}'],
    ["not an array", '{"managedFields":null}', '{"managedFields":null}'],
    [
      "in key position after one at the text's start, which is not",
      '"managedFields":{"managedFields":[1]}',
      '"managedFields":{"managedFields":[]}',
    ],
    ["inside a string value", '{"a":"{\\"managedFields\\":[1]}"}', '{"a":"{\\"managedFields\\":[1]}"}'],
    ["a key ending in managedFields", '{"x\\"managedFields":[1]}', '{"x\\"managedFields":[1]}'],
    ["invalid inside: left for JSON.parse", '{"managedFields":[1,,2]}', '{"managedFields":[1,,2]}'],
    ["bad escape inside", '{"managedFields":["\\x"]}', '{"managedFields":["\\x"]}'],
    ["control character inside", '{"managedFields":["a\u0001"]}', '{"managedFields":["a\u0001"]}'],
    ["bad number inside", '{"managedFields":[01]}', '{"managedFields":[01]}'],
    ["unterminated", '{"managedFields":[{"a":1}', '{"managedFields":[{"a":1}'],
    ["numbers and literals", '{"managedFields":[-0.5e+3,true,false,null,"\\u00e9"]}', '{"managedFields":[]}'],
    ["carriage returns and tabs around it", '{\r\t"managedFields":\t\r[1]}', '{\r\t"managedFields":\t\r[]}'],
    ["carriage return before it", '{"a":1,\r"managedFields":[1]}', '{"a":1,\r"managedFields":[]}'],
    ["tab before it", '{"a":1,\t"managedFields":[1]}', '{"a":1,\t"managedFields":[]}'],
    ["an exponent without a sign", '{"managedFields":[1e5,2E7]}', '{"managedFields":[]}'],
    [
      "a \\u escape with fewer than four digits",
      '{"managedFields":["\\u12"]}',
      '{"managedFields":["\\u12"]}',
    ],
    ["two elements joined by another character", '{"managedFields":[1:2]}', '{"managedFields":[1:2]}'],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => {
      assert.equal(emptyManagedFields(input), expected);
    });
  }

  it("leaves every invalid array unchanged wherever the text around it could be read again", () => {
    // Each inner value fails on its own rule; the text's start ("[," and "{,") would let a reader
    // that took a failure for a position carry on from there.
    for (const bad of [
      "tru",
      "nul",
      "fals",
      "-",
      '"a\u0001"',
      '"\\x"',
      '"abc',
      "{a:1}",
      '{"a" 1}',
      '{"a":x}',
      '{"a":1 "b":2}',
      '{"a":1,',
      "[1:2]",
      '{"\\x":1}',
      "[1,",
    ]) {
      for (const start of ["[,", "{,", "[", "{"]) {
        const text = `${start}{"managedFields":[${bad}]}`;
        assert.equal(emptyManagedFields(text), text, text);
      }
    }
  });

  it("is JSON.parse followed by emptying, for any JSON document (property)", () => {
    const key = fc.oneof(fc.constant("managedFields"), fc.string({ maxLength: 4 }));
    const doc = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.jsonValue({ maxDepth: 1 }),
        fc.array(tie("value"), { maxLength: 4 }),
        fc.dictionary(key, tie("value"), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(doc, fc.boolean(), (v, pretty) => {
        const text = JSON.stringify(v, null, pretty ? 1 : undefined);
        assert.deepEqual(JSON.parse(emptyManagedFields(text)), emptied(JSON.parse(text)));
      }),
      { numRuns: 2000 },
    );
  });

  it("never makes a text JSON.parse refuses parse (property: texts cut or altered at random)", () => {
    const base = JSON.stringify({ m: { managedFields: [{ "f:a": { ".": {} }, n: -1.5e3, s: "é\\n" }] } });
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.string({ maxLength: 2 }), (at, insert) => {
        const text = base.slice(0, at) + insert + base.slice(at + 1);
        if (!parses(text)) assert.equal(parses(emptyManagedFields(text)), false, text);
      }),
      { numRuns: 5000 },
    );
  });
});
