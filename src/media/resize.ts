// Resampling for thumbnails: area averaging (each output pixel is the mean of
// the source pixels it covers, weighted by coverage). Thumbnails only ever
// shrink (spec: "Servers MUST NOT upscale thumbnails"), and for shrinking the
// area average is both correct and cheap: one pass over the source per axis.
import type { Rgba } from "./codecs";

/** Scales the whole image to exactly width x height (the caller keeps the aspect ratio). */
export function resizeImage(source: Rgba, width: number, height: number): Rgba {
  if (width === source.width && height === source.height) return source;
  const horizontal = resizeRows(source, width);
  return transpose(resizeRows(transpose(horizontal), height));
}

/** Cuts out the centred region of the given aspect ratio, then scales it to width x height. */
export function cropAndResize(source: Rgba, width: number, height: number): Rgba {
  const targetAspect = width / height;
  let cropWidth = source.width;
  let cropHeight = source.height;
  if (source.width / source.height > targetAspect) cropWidth = Math.max(1, Math.round(source.height * targetAspect));
  else cropHeight = Math.max(1, Math.round(source.width / targetAspect));
  const left = Math.floor((source.width - cropWidth) / 2);
  const top = Math.floor((source.height - cropHeight) / 2);
  return resizeImage(crop(source, left, top, cropWidth, cropHeight), width, height);
}

function crop(source: Rgba, left: number, top: number, width: number, height: number): Rgba {
  if (left === 0 && top === 0 && width === source.width && height === source.height) return source;
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * source.width + left) * 4;
    data.set(source.data.subarray(from, from + width * 4), y * width * 4);
  }
  return { width, height, data };
}

/**
 * Shrinks every row to `width` pixels. Colour is averaged weighted by alpha, so
 * that the colour of fully transparent pixels does not bleed into the edges.
 */
function resizeRows(source: Rgba, width: number): Rgba {
  const { width: sourceWidth, height, data: src } = source;
  const out = new Uint8Array(width * height * 4);
  const scale = sourceWidth / width;
  // Per output column: first source pixel, last (exclusive) and edge weights, computed once.
  const starts = new Float64Array(width + 1);
  for (let x = 0; x <= width; x++) starts[x] = x * scale;
  for (let y = 0; y < height; y++) {
    const row = y * sourceWidth * 4;
    for (let x = 0; x < width; x++) {
      const begin = starts[x]!;
      const end = starts[x + 1]!;
      let r = 0, g = 0, b = 0, a = 0, total = 0;
      for (let sx = Math.floor(begin); sx < end && sx < sourceWidth; sx++) {
        const weight = Math.min(sx + 1, end) - Math.max(sx, begin);
        const i = row + sx * 4;
        const alphaWeight = weight * src[i + 3]!;
        r += src[i]! * alphaWeight;
        g += src[i + 1]! * alphaWeight;
        b += src[i + 2]! * alphaWeight;
        a += alphaWeight;
        total += weight;
      }
      const o = (y * width + x) * 4;
      if (a > 0) {
        out[o] = Math.round(r / a);
        out[o + 1] = Math.round(g / a);
        out[o + 2] = Math.round(b / a);
      }
      out[o + 3] = Math.round(a / total);
    }
  }
  return { width, height, data: out };
}

function transpose(source: Rgba): Rgba {
  const { width, height } = source;
  const src = new Uint32Array(source.data.buffer, source.data.byteOffset, width * height);
  const out = new Uint32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[x * height + y] = src[y * width + x]!;
  return { width: height, height: width, data: new Uint8Array(out.buffer) };
}
