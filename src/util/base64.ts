// Unpadded base64 as the Matrix spec uses it everywhere (appendices, "Unpadded Base64").

export function encodeUnpaddedBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64").replace(/=+$/, "");
}

export function encodeUnpaddedBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

export function decodeBase64(text: string): Uint8Array {
  // Buffer accepts padded and unpadded, standard and url-safe alphabets.
  return new Uint8Array(Buffer.from(text, "base64"));
}
