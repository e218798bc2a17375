import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPERCASE = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** A random string over `alphabet`, unbiased (rejection sampling). */
export function randomString(length: number, alphabet: string = ALPHANUMERIC): string {
  const out: string[] = [];
  const limit = 256 - (256 % alphabet.length);
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < limit) out.push(alphabet[byte % alphabet.length]!);
      if (out.length === length) break;
    }
  }
  return out.join("");
}

export function randomDeviceId(): string {
  return randomString(10, UPPERCASE);
}

/** Hex SHA-256: tokens and secrets are stored only in this form. */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Constant-time comparison of two strings (different lengths compare unequal). */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) {
    timingSafeEqual(left, left); // keep the timing independent of where they differ
    return false;
  }
  return timingSafeEqual(left, right);
}
