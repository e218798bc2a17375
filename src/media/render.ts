// One thumbnail from the bytes of an image: decode, shrink or cut, encode.
// Runs in the thumbnail worker (thumbnail-worker.ts); pure, bytes in and bytes out.
import { decodeImage, encodeJpeg, encodePng } from "./codecs";
import type { ImageFormat } from "./image-probe";
import { cropAndResize, resizeImage } from "./resize";

export interface RenderJob {
  /** The image file (read here, so that its bytes never pass through the request thread). */
  path: string;
  format: ImageFormat;
  maxPixels: number;
  /** Output size; null keeps the decoded size (a static copy of an animated GIF). */
  target: { width: number; height: number; crop: boolean } | null;
  output: "jpeg" | "png";
}

export async function renderThumbnail(job: RenderJob): Promise<Uint8Array> {
  const bytes = new Uint8Array(await Bun.file(job.path).arrayBuffer());
  const image = await decodeImage(bytes, job.format, job.maxPixels);
  const size = job.target ?? { width: image.width, height: image.height, crop: false };
  const resized = size.crop ? cropAndResize(image, size.width, size.height) : resizeImage(image, size.width, size.height);
  return job.output === "jpeg" ? encodeJpeg(resized) : encodePng(resized);
}
