import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { discoveryDocument, signingAlgorithms } from "../../src/core/oidc/discovery.js";
import { fixedSizeBigEndian, jwksDocument, minimalBigEndian, toJwk } from "../../src/core/oidc/jwks.js";
import { goJson } from "../../src/core/go/json.js";
import { parseKeysPem, type PublicKeyInfo } from "../../src/core/oidc/keys.js";
import { KUBERNETES_VECTORS } from "../support/paths.js";

const VECTORS = KUBERNETES_VECTORS;
const k8sRsa = (): PublicKeyInfo => {
  const [k] = parseKeysPem(readFileSync(join(VECTORS, "k8s-rsa-2048.pub.pem"), "utf8"), "k8s-rsa");
  assert.ok(k);
  return k.publicKey;
};
const ecKey = (curve = "prime256v1"): PublicKeyInfo => {
  const pem = String(
    generateKeyPairSync("ec", { namedCurve: curve }).publicKey.export({ type: "spki", format: "pem" }),
  );
  const [k] = parseKeysPem(pem, curve);
  assert.ok(k);
  return k.publicKey;
};

describe("discovery document", () => {
  it("is byte-identical to kube-apiserver's for issuer.example.com with an RSA and a P-256 key", () => {
    const expected = readFileSync(join(VECTORS, "openid-configuration.issuer-example.expected.json"), "utf8");
    const doc = discoveryDocument("https://issuer.example.com", "https://issuer.example.com/openid/v1/jwks", [
      k8sRsa(),
      ecKey(),
    ]);
    assert.equal(doc, expected);
    assert.ok(!doc.endsWith("\n"));
  });

  it("lists each algorithm once, sorted", () => {
    assert.deepEqual(
      signingAlgorithms([k8sRsa(), ecKey("secp521r1"), ecKey(), k8sRsa(), ecKey("secp384r1")]),
      ["ES256", "ES384", "ES512", "RS256"],
    );
  });

  it("escapes <, >, &, U+2028 and U+2029 as Go's encoder does", () => {
    assert.equal(goJson({ a: "x<y>&\u2028" }), '{"a":"x\\u003cy\\u003e\\u0026\\u2028"}');
    assert.equal(goJson(["\u2029", "<<", "é\u2027"]), '["\\u2029","\\u003c\\u003c","é\u2027"]');
    const doc = discoveryDocument("https://h/a&b", "https://h/a&b/openid/v1/jwks", [k8sRsa()]);
    assert.match(doc, /"issuer":"https:\/\/h\/a\\u0026b"/);
  });
});

describe("JWKS", () => {
  it("uses kube-apiserver's field order for RSA: use, kty, kid, alg, n, e", () => {
    const doc = jwksDocument([k8sRsa()]);
    assert.match(
      doc,
      /^\{"keys":\[\{"use":"sig","kty":"RSA","kid":"JHJehTTTZlsspKHT-GaJxK7Kd1NQgZJu3fyK6K_QDYU","alg":"RS256","n":"[A-Za-z0-9_-]+","e":"AQAB"\}\]\}$/,
    );
  });

  it("uses kube-apiserver's field order for EC: use, kty, kid, crv, alg, x, y", () => {
    const k = ecKey();
    assert.deepEqual(Object.keys(toJwk(k)), ["use", "kty", "kid", "crv", "alg", "x", "y"]);
  });

  it("keeps keys in the given order without de-duplication", () => {
    const a = k8sRsa();
    const b = ecKey();
    const doc = JSON.parse(jwksDocument([b, a, b])) as { keys: { kid: string }[] };
    assert.deepEqual(
      doc.keys.map((k) => k.kid),
      [b.kid, a.kid, b.kid],
    );
  });

  for (const [curve, bytes] of [
    ["prime256v1", 32],
    ["secp384r1", 48],
    ["secp521r1", 66],
  ] as const) {
    it(`pads ${curve} coordinates to ${bytes} bytes, also when they have leading zero bytes`, () => {
      // About 1 in 128 keys has a coordinate starting with a zero byte; search until one does.
      let sawLeadingZero = false;
      for (let i = 0; i < 2000 && !sawLeadingZero; i++) {
        const jwk = toJwk(ecKey(curve));
        assert.ok(jwk.kty === "EC");
        for (const c of [jwk.x, jwk.y]) {
          const raw = Buffer.from(c, "base64url");
          assert.equal(raw.length, bytes);
          if (raw[0] === 0) sawLeadingZero = true;
        }
      }
      assert.ok(sawLeadingZero, "no key with a leading zero coordinate was generated");
    });
  }

  it("keeps a P-256 coordinate's value when it starts with a zero byte: the zero goes on the left", () => {
    // About 1 in 128 coordinates starts with a zero byte; generate until both x and y have been seen so.
    const seen = { x: false, y: false };
    for (let i = 0; i < 5000 && !(seen.x && seen.y); i++) {
      const k = ecKey();
      const exported = k.key.export({ format: "jwk" });
      const jwk = toJwk(k);
      assert.ok(jwk.kty === "EC");
      for (const c of ["x", "y"] as const) {
        const value = Buffer.from(exported[c] ?? "", "base64url");
        const expected = Buffer.concat([Buffer.alloc(32 - value.length), value]);
        assert.equal(jwk[c], expected.toString("base64url"), `${c} of key ${i}`);
        if (expected[0] === 0) seen[c] = true;
      }
    }
    assert.ok(seen.x && seen.y, "no key with a leading zero in x and one in y was generated");
  });

  const hex = (h: string): string => Buffer.from(h, "hex").toString("base64url");

  it("drops leading zero bytes as big.Int.Bytes() does, keeping one byte of a zero value", () => {
    const cases: [string, string][] = [
      ["0001ff", "01ff"],
      ["000000ff", "ff"],
      ["ff00", "ff00"],
      ["01", "01"],
      ["0000", "00"],
      ["00", "00"],
    ];
    for (const [input, want] of cases) assert.equal(minimalBigEndian(hex(input)), hex(want), input);
  });

  it("pads an EC coordinate on the left to the field size, whatever zeros it came with", () => {
    const cases: [string, number, string][] = [
      ["01ff", 4, "000001ff"],
      ["000001ff", 4, "000001ff"],
      ["00000001ff", 4, "000001ff"],
      ["ffffffff", 4, "ffffffff"],
    ];
    for (const [input, size, want] of cases) {
      assert.equal(fixedSizeBigEndian(hex(input), size), hex(want), input);
    }
  });

  it("refuses an EC coordinate longer than the field instead of writing a wrong key", () => {
    assert.throws(() => fixedSizeBigEndian(hex("01ffffffff"), 4), {
      name: "RangeError",
      message: "EC coordinate of 5 bytes exceeds 4",
    });
  });

  it("writes n minimally: no leading zero byte", () => {
    const jwk = toJwk(k8sRsa());
    assert.ok(jwk.kty === "RSA");
    const n = Buffer.from(jwk.n, "base64url");
    assert.equal(n.length, 256);
    assert.notEqual(n[0], 0);
  });
});
