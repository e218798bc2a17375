// ed25519 signing of JSON objects (spec appendix "Signing JSON"): the signature
// covers the canonical JSON of the object without `signatures` and `unsigned`.
import type { KeyObject } from "node:crypto";
import { decodeBase64, encodeUnpaddedBase64 } from "./base64";
import { canonicalJson } from "./canonical-json";

// node:crypto (with the stream polyfills it pulls in) costs ~20 ms to load, so it
// is loaded on the first signature rather than at start-up.
let nodeCryptoModule: typeof import("node:crypto") | undefined;
function nodeCrypto(): typeof import("node:crypto") {
  return (nodeCryptoModule ??= require("node:crypto") as typeof import("node:crypto"));
}

export interface SigningKey {
  /** e.g. "ed25519:a_AbCd" */
  keyId: string;
  /** 32-byte seed, the private part as Synapse's signing.key stores it. */
  seed: Uint8Array;
  privateKey: KeyObject;
  /** Unpadded base64 of the 32-byte public key. */
  publicKeyBase64: string;
}

// DER prefix of a PKCS#8 ed25519 private key; the 32-byte seed follows it.
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
// DER prefix of an SPKI ed25519 public key; the 32-byte key follows it.
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** The key objects are derived from the seed when first used. */
export function signingKeyFromSeed(keyId: string, seed: Uint8Array): SigningKey {
  let privateKey: KeyObject | undefined;
  let publicKeyBase64: string | undefined;
  return {
    keyId,
    seed,
    get privateKey() {
      return (privateKey ??= nodeCrypto().createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: "der", type: "pkcs8" }));
    },
    get publicKeyBase64() {
      if (publicKeyBase64 === undefined) {
        const spki = nodeCrypto().createPublicKey(this.privateKey).export({ format: "der", type: "spki" });
        publicKeyBase64 = encodeUnpaddedBase64(spki.subarray(SPKI_ED25519_PREFIX.length));
      }
      return publicKeyBase64;
    },
  };
}

export function generateSigningKey(): SigningKey {
  const version = `a_${encodeUnpaddedBase64(crypto.getRandomValues(new Uint8Array(3))).replace(/[^A-Za-z0-9]/g, "x")}`;
  return signingKeyFromSeed(`ed25519:${version}`, crypto.getRandomValues(new Uint8Array(32)));
}

/** Synapse's signing.key line format: "ed25519 <version> <unpadded base64 seed>". */
export function formatSigningKeyFile(key: SigningKey): string {
  return `ed25519 ${key.keyId.slice("ed25519:".length)} ${encodeUnpaddedBase64(key.seed)}\n`;
}

export function parseSigningKeyFile(text: string): SigningKey {
  const [algorithm, version, seed] = text.trim().split(/\s+/);
  if (algorithm !== "ed25519" || !version || !seed) throw new Error("signing key file is not in the format 'ed25519 <version> <seed>'");
  const bytes = decodeBase64(seed);
  if (bytes.length !== 32) throw new Error("signing key seed must be 32 bytes");
  return signingKeyFromSeed(`ed25519:${version}`, bytes);
}

/** The unpadded-base64 ed25519 signature of already-canonical JSON text. */
export function signCanonical(canonical: string, key: SigningKey): string {
  return encodeUnpaddedBase64(nodeCrypto().sign(null, Buffer.from(canonical), key.privateKey));
}

/** Returns a copy of `object` with this server's signature added under `signatures[serverName][keyId]`. */
export function signJson<T extends Record<string, unknown>>(object: T, serverName: string, key: SigningKey): T {
  const { signatures, unsigned, ...signed } = object as Record<string, unknown>;
  const signature = encodeUnpaddedBase64(nodeCrypto().sign(null, Buffer.from(canonicalJson(signed)), key.privateKey));
  const existing = (signatures as Record<string, Record<string, string>> | undefined) ?? {};
  const result: Record<string, unknown> = {
    ...object,
    signatures: { ...existing, [serverName]: { ...(existing[serverName] ?? {}), [key.keyId]: signature } },
  };
  if (unsigned !== undefined) result.unsigned = unsigned;
  return result as T;
}

/** Checks one ed25519 signature on a JSON object against an unpadded-base64 public key. */
export function verifyJsonSignature(object: Record<string, unknown>, signer: string, keyId: string, publicKeyBase64: string): boolean {
  const signatureText = (object.signatures as Record<string, Record<string, string>> | undefined)?.[signer]?.[keyId];
  if (typeof signatureText !== "string") return false;
  const { signatures: _s, unsigned: _u, ...signed } = object;
  try {
    const publicKey = nodeCrypto().createPublicKey({
      key: Buffer.concat([SPKI_ED25519_PREFIX, decodeBase64(publicKeyBase64)]),
      format: "der",
      type: "spki",
    });
    return nodeCrypto().verify(null, Buffer.from(canonicalJson(signed)), publicKey, decodeBase64(signatureText));
  } catch {
    return false;
  }
}
