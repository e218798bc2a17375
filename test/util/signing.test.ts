// Signing JSON (spec appendices, "Signing JSON" and its examples): the spec's
// test key signs {} and {"one":1,"two":"Two"} to exactly the spec's signatures.
import { describe, expect, test } from "bun:test";
import { decodeBase64 } from "../../src/util/base64";
import {
  formatSigningKeyFile,
  generateSigningKey,
  parseSigningKeyFile,
  signJson,
  signingKeyFromSeed,
  verifyJsonSignature,
} from "../../src/util/signing";

const SPEC_SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1";
const SPEC_KEY = signingKeyFromSeed("ed25519:1", decodeBase64(SPEC_SEED));
// The public key of the spec's seed (as Ruma's and Synapse's test vectors use it).
const SPEC_PUBLIC_KEY = "XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI";

const SIG_EMPTY = "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ";
const SIG_ONE_TWO = "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw";

describe("signJson: the appendix examples", () => {
  test("the seed gives the spec's public key", () => {
    expect(SPEC_KEY.publicKeyBase64).toBe(SPEC_PUBLIC_KEY);
    expect(SPEC_KEY.keyId).toBe("ed25519:1");
  });

  test("the empty object", () => {
    expect<unknown>(signJson({}, "domain", SPEC_KEY)).toEqual({ signatures: { domain: { "ed25519:1": SIG_EMPTY } } });
  });

  test('{"one":1,"two":"Two"}', () => {
    expect<unknown>(signJson({ one: 1, two: "Two" }, "domain", SPEC_KEY)).toEqual({
      one: 1,
      two: "Two",
      signatures: { domain: { "ed25519:1": SIG_ONE_TWO } },
    });
  });

  test("unsigned and existing signatures are not covered, and are kept", () => {
    const signed = signJson(
      { one: 1, two: "Two", unsigned: { age_ts: 5 }, signatures: { other: { "ed25519:x": "abc" } } },
      "domain",
      SPEC_KEY,
    );
    expect<unknown>(signed).toEqual({
      one: 1,
      two: "Two",
      unsigned: { age_ts: 5 },
      signatures: { other: { "ed25519:x": "abc" }, domain: { "ed25519:1": SIG_ONE_TWO } },
    });
  });

  test("does not modify its input", () => {
    const input = { one: 1, two: "Two" };
    signJson(input, "domain", SPEC_KEY);
    expect(input).toEqual({ one: 1, two: "Two" });
  });
});

describe("verifyJsonSignature", () => {
  const signedEmpty = { signatures: { domain: { "ed25519:1": SIG_EMPTY } } };
  const signedOneTwo = { one: 1, two: "Two", signatures: { domain: { "ed25519:1": SIG_ONE_TWO } } };

  test("accepts the spec's signed objects", () => {
    expect(verifyJsonSignature(signedEmpty, "domain", "ed25519:1", SPEC_PUBLIC_KEY)).toBe(true);
    expect(verifyJsonSignature(signedOneTwo, "domain", "ed25519:1", SPEC_PUBLIC_KEY)).toBe(true);
  });

  test("ignores unsigned and other servers' signatures", () => {
    const withExtras = {
      ...signedOneTwo,
      unsigned: { age: 1 },
      signatures: { ...signedOneTwo.signatures, elsewhere: { "ed25519:9": "zzzz" } },
    };
    expect(verifyJsonSignature(withExtras, "domain", "ed25519:1", SPEC_PUBLIC_KEY)).toBe(true);
  });

  test("rejects a changed value, an added key and a removed key", () => {
    expect(verifyJsonSignature({ ...signedOneTwo, two: "two" }, "domain", "ed25519:1", SPEC_PUBLIC_KEY)).toBe(false);
    expect(verifyJsonSignature({ ...signedOneTwo, three: 3 }, "domain", "ed25519:1", SPEC_PUBLIC_KEY)).toBe(false);
    const { one: _one, ...withoutOne } = signedOneTwo;
    expect(verifyJsonSignature(withoutOne, "domain", "ed25519:1", SPEC_PUBLIC_KEY)).toBe(false);
  });

  test("rejects a signature moved to another object", () => {
    const moved = { one: 1, two: "Two", signatures: { domain: { "ed25519:1": SIG_EMPTY } } };
    expect(verifyJsonSignature(moved, "domain", "ed25519:1", SPEC_PUBLIC_KEY)).toBe(false);
  });

  test("rejects another key, a missing signer or key id, and garbage", () => {
    expect(verifyJsonSignature(signedOneTwo, "domain", "ed25519:1", generateSigningKey().publicKeyBase64)).toBe(false);
    expect(verifyJsonSignature(signedOneTwo, "other", "ed25519:1", SPEC_PUBLIC_KEY)).toBe(false);
    expect(verifyJsonSignature(signedOneTwo, "domain", "ed25519:2", SPEC_PUBLIC_KEY)).toBe(false);
    expect(verifyJsonSignature({ one: 1, two: "Two" }, "domain", "ed25519:1", SPEC_PUBLIC_KEY)).toBe(false);
    const garbage = { one: 1, two: "Two", signatures: { domain: { "ed25519:1": "not base64 !!" } } };
    expect(verifyJsonSignature(garbage, "domain", "ed25519:1", SPEC_PUBLIC_KEY)).toBe(false);
    expect(verifyJsonSignature(signedOneTwo, "domain", "ed25519:1", "tooshort")).toBe(false);
  });

  test("a fresh key's signature verifies with its own public key", () => {
    const key = generateSigningKey();
    const signed = signJson({ hello: "world" }, "example.org", key);
    expect(verifyJsonSignature(signed, "example.org", key.keyId, key.publicKeyBase64)).toBe(true);
  });
});

describe("signing key file (Synapse's signing.key format)", () => {
  test("formats the spec key as 'ed25519 <version> <unpadded seed>'", () => {
    // The spec's seed text ends in "1", whose two low bits are padding; the
    // canonical encoding of the same 32 bytes ends in "0".
    expect(formatSigningKeyFile(SPEC_KEY)).toBe(`ed25519 1 ${SPEC_SEED.slice(0, -1)}0\n`);
    expect(parseSigningKeyFile(formatSigningKeyFile(SPEC_KEY)).publicKeyBase64).toBe(SPEC_PUBLIC_KEY);
  });

  test("round-trips a generated key", () => {
    const key = generateSigningKey();
    expect(key.keyId).toMatch(/^ed25519:a_[A-Za-z0-9]+$/);
    const parsed = parseSigningKeyFile(formatSigningKeyFile(key));
    expect(parsed.keyId).toBe(key.keyId);
    expect(parsed.seed).toEqual(key.seed);
    expect(parsed.publicKeyBase64).toBe(key.publicKeyBase64);
    // The parsed key signs identically (ed25519 is deterministic).
    expect(signJson({ a: 1 }, "s", parsed)).toEqual(signJson({ a: 1 }, "s", key));
  });

  test("parses the spec key and tolerates surrounding whitespace and padding", () => {
    const parsed = parseSigningKeyFile(`  ed25519 1 ${SPEC_SEED}=\n\n`);
    expect(parsed.keyId).toBe("ed25519:1");
    expect(parsed.publicKeyBase64).toBe(SPEC_PUBLIC_KEY);
  });

  test("rejects other formats", () => {
    expect(() => parseSigningKeyFile("")).toThrow();
    expect(() => parseSigningKeyFile(`curve25519 1 ${SPEC_SEED}`)).toThrow();
    expect(() => parseSigningKeyFile("ed25519 1")).toThrow();
    expect(() => parseSigningKeyFile("ed25519 1 AAAA")).toThrow(/32 bytes/);
  });
});
