// Reads an image's format and dimensions from its header, without decoding it,
// so that an image too large to decode safely is refused before any pixel
// buffer is allocated (spec: content repository, "Security considerations":
// homeservers should not attempt to thumbnail images that are too large).

export type ImageFormat = "jpeg" | "png" | "gif" | "webp";

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

/** The format and size of a JPEG, PNG, GIF or WebP image, or null for anything else (or a header too short to tell). */
export function probeImage(bytes: Uint8Array): ImageHeader | null {
  if (bytes.length < 12) return null;
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return probeJpeg(bytes);
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return probePng(bytes);
  if (startsWith(bytes, [0x47, 0x49, 0x46, 0x38])) return probeGif(bytes);
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && ascii(bytes, 8, 4) === "WEBP") return probeWebp(bytes);
  return null;
}

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return prefix.every((value, i) => bytes[i] === value);
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

const u16be = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const u16le = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const u24le = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16);
const u32be = (b: Uint8Array, o: number) => ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);

function sized(format: ImageFormat, width: number, height: number): ImageHeader | null {
  return width > 0 && height > 0 ? { format, width, height } : null;
}

/** Walks the marker segments up to the first start-of-frame (SOF0..SOF15 but DHT, JPG and DAC). */
function probeJpeg(b: Uint8Array): ImageHeader | null {
  let offset = 2;
  while (offset + 9 < b.length) {
    if (b[offset] !== 0xff) return null;
    const marker = b[offset + 1]!;
    if (marker === 0xff) {
      offset++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      offset += 2; // markers without a length
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return sized("jpeg", u16be(b, offset + 7), u16be(b, offset + 5));
    }
    if (marker === 0xd9 || marker === 0xda) return null; // end of image or start of scan before any frame
    offset += 2 + u16be(b, offset + 2);
  }
  return null;
}

function probePng(b: Uint8Array): ImageHeader | null {
  if (b.length < 24 || ascii(b, 12, 4) !== "IHDR") return null;
  return sized("png", u32be(b, 16), u32be(b, 20));
}

function probeGif(b: Uint8Array): ImageHeader | null {
  return sized("gif", u16le(b, 6), u16le(b, 8));
}

/** RIFF container: the first chunk is VP8 (lossy), VP8L (lossless) or VP8X (extended). */
function probeWebp(b: Uint8Array): ImageHeader | null {
  if (b.length < 30) return null;
  const chunk = ascii(b, 12, 4);
  if (chunk === "VP8 ") return sized("webp", u16le(b, 26) & 0x3fff, u16le(b, 28) & 0x3fff);
  if (chunk === "VP8L") {
    const bits = (b[21]! | (b[22]! << 8) | (b[23]! << 16) | (b[24]! << 24)) >>> 0;
    return sized("webp", (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (chunk === "VP8X") return sized("webp", u24le(b, 24) + 1, u24le(b, 27) + 1);
  return null;
}
