// Unpadded base64 as the Matrix spec uses it everywhere (appendices, "Unpadded Base64").

export function encodeUnpaddedBase64(bytes: Uint8Array): string {
  const text = asBuffer(bytes).toString("base64");
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61 /* = */) end--;
  return end === text.length ? text : text.slice(0, end);
}

export function encodeUnpaddedBase64Url(bytes: Uint8Array): string {
  return asBuffer(bytes).toString("base64url");
}

/** The bytes as a Buffer without copying them (hashes and signatures come as Buffers already). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function decodeBase64(text: string): Uint8Array {
  // Buffer accepts padded and unpadded, standard and url-safe alphabets.
  return new Uint8Array(Buffer.from(text, "base64"));
}
