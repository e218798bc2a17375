// Small test images made on the fly, so that no binary fixture is committed.
import { default as encodeWebpPixels, init as initWebpEncoder } from "@jsquash/webp/encode.js";
import { GifWriter } from "omggif";
import { encodeJpeg, encodePng, type Rgba } from "../../src/media/codecs";

/** A gradient with a red square in the middle, so that crops and scales can be told apart. */
export function testPixels(width: number, height: number, alpha = 255): Rgba {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const centre = Math.abs(x - width / 2) < width / 8 && Math.abs(y - height / 2) < height / 8;
      data[i] = centre ? 255 : (x * 255) / width;
      data[i + 1] = centre ? 0 : (y * 255) / height;
      data[i + 2] = centre ? 0 : 128;
      data[i + 3] = alpha;
    }
  }
  return { width, height, data };
}

export const pngImage = (width: number, height: number, alpha = 255) => encodePng(testPixels(width, height, alpha));
export const jpegImage = (width: number, height: number) => encodeJpeg(testPixels(width, height));

/** A two-frame GIF with a two-colour palette. */
export function gifImage(width: number, height: number): Uint8Array {
  const buffer = new Uint8Array(width * height * 4 + 1024);
  const writer = new GifWriter(buffer, width, height, { palette: [0xff0000, 0x0000ff], loop: 0 });
  const frame = (colour: number) => Array.from({ length: width * height }, (_, i) => ((i % width) < width / 2 ? colour : 1 - colour));
  writer.addFrame(0, 0, width, height, frame(0), { delay: 10 });
  writer.addFrame(0, 0, width, height, frame(1), { delay: 10 });
  return buffer.slice(0, writer.end());
}

let webpEncoder: Promise<unknown> | undefined;

export async function webpImage(width: number, height: number): Promise<Uint8Array> {
  webpEncoder ??= initWebpEncoder(
    await WebAssembly.compile(await Bun.file(new URL("../../node_modules/@jsquash/webp/codec/enc/webp_enc_simd.wasm", import.meta.url)).arrayBuffer()),
  );
  await webpEncoder;
  const pixels = testPixels(width, height);
  const data = new Uint8ClampedArray(pixels.data.buffer);
  return new Uint8Array(await encodeWebpPixels({ width, height, data, colorSpace: "srgb" } as never, { quality: 80 }));
}
