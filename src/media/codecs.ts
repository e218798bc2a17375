// Decoding JPEG, PNG, GIF (first frame) and WebP to RGBA pixels, and encoding
// thumbnails as JPEG or PNG. Everything here is JavaScript or WebAssembly that
// `bun build --compile` embeds in the executable (see docs/architecture.md,
// "Media": native image libraries cannot be embedded for both targets).
import { default as decodeJpegPixels, init as initJpegDecoder } from "@jsquash/jpeg/decode.js";
import { default as encodeJpegPixels, init as initJpegEncoder } from "@jsquash/jpeg/encode.js";
import { default as decodeWebpPixels, init as initWebpDecoder } from "@jsquash/webp/decode.js";
import { GifReader } from "omggif";
import { PNG } from "pngjs";
// The WebAssembly modules are embedded in the executable as files (`with { type: "file" }`),
// and read and compiled on first use (a server that never sees a WebP never loads its decoder).
import jpegDecoderWasm from "../../node_modules/@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm" with { type: "file" };
import jpegEncoderWasm from "../../node_modules/@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm" with { type: "file" };
import webpDecoderWasm from "../../node_modules/@jsquash/webp/codec/dec/webp_dec.wasm" with { type: "file" };
import { CorruptImageError } from "./corrupt-image";
import type { ImageFormat } from "./image-probe";

/** Pixels as 8-bit RGBA, row by row. */
export interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}


/**
 * Decodes an image whose header has already been checked against the pixel
 * limit (image-probe.ts). `maxPixels` also bounds a GIF's first frame, which
 * can be larger than the logical screen its header gives.
 */
export async function decodeImage(bytes: Uint8Array, format: ImageFormat, maxPixels: number): Promise<Rgba> {
  try {
    switch (format) {
      case "jpeg":
        return await decodeJpeg(bytes);
      case "png":
        return decodePng(bytes);
      case "gif":
        return decodeGifFirstFrame(bytes, maxPixels);
      case "webp":
        return await decodeWebp(bytes);
      default:
        throw new CorruptImageError(`unsupported format ${format satisfies never}`);
    }
  } catch (error) {
    if (error instanceof CorruptImageError) throw error;
    throw new CorruptImageError(`cannot decode ${format}: ${(error as Error)?.message ?? String(error)}`);
  }
}

/**
 * libjpeg reports recoverable damage on stderr and fatal errors by throwing;
 * neither should reach the server's log as noise, so printing is silenced.
 */
const quiet = { print: () => {}, printErr: () => {} };

/** Compiles an embedded WebAssembly file once and hands it to the codec's init(). */
function wasmCodec(file: string, init: (module: WebAssembly.Module, options: object) => unknown): () => Promise<void> {
  let ready: Promise<void> | undefined;
  return () =>
    (ready ??= (async () => {
      await init(await WebAssembly.compile(await Bun.file(file).arrayBuffer()), quiet);
    })());
}

const jpegDecoder = wasmCodec(jpegDecoderWasm, initJpegDecoder);
const jpegEncoder = wasmCodec(jpegEncoderWasm, initJpegEncoder);
const webpDecoder = wasmCodec(webpDecoderWasm, initWebpDecoder);

/** The codecs take an ArrayBuffer holding exactly the file. */
const exactBuffer = (bytes: Uint8Array): ArrayBuffer => bytes.slice().buffer as ArrayBuffer;

const fromImageData = (image: { width: number; height: number; data: Uint8ClampedArray }): Rgba => ({
  width: image.width,
  height: image.height,
  data: new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength),
});

async function decodeJpeg(bytes: Uint8Array): Promise<Rgba> {
  await jpegDecoder();
  return fromImageData(await decodeJpegPixels(exactBuffer(bytes)));
}

function decodePng(bytes: Uint8Array): Rgba {
  // pngjs turns every colour type and bit depth (palette, grey, 16-bit, interlaced) into RGBA.
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
}

/** The first frame only, drawn onto the logical screen (transparent elsewhere). */
function decodeGifFirstFrame(bytes: Uint8Array, maxPixels: number): Rgba {
  const reader = new GifReader(bytes);
  if (reader.numFrames() < 1) throw new CorruptImageError("GIF without frames");
  const frame = reader.frameInfo(0);
  // The decoder allocates one byte per pixel of the frame, whose size the header did not show.
  if (frame.width * frame.height > maxPixels) throw new CorruptImageError("GIF frame larger than the pixel limit");
  const data = new Uint8Array(reader.width * reader.height * 4);
  reader.decodeAndBlitFrameRGBA(0, data);
  return { width: reader.width, height: reader.height, data };
}

async function decodeWebp(bytes: Uint8Array): Promise<Rgba> {
  await webpDecoder();
  return fromImageData(await decodeWebpPixels(exactBuffer(bytes)));
}

/** Thumbnails of photographs are JPEG (no alpha; smaller). */
export async function encodeJpeg(image: Rgba, quality = 80): Promise<Uint8Array> {
  await jpegEncoder();
  const data = new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return new Uint8Array(await encodeJpegPixels({ width: image.width, height: image.height, data, colorSpace: "srgb" } as Parameters<typeof encodeJpegPixels>[0], { quality }));
}

/** Thumbnails of everything else are PNG, which keeps transparency. */
export function encodePng(image: Rgba): Uint8Array {
  const png = new PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return new Uint8Array(PNG.sync.write(png));
}
