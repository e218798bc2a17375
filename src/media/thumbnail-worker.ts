// Runs in a worker thread: makes thumbnails (render.ts), so that decoding a
// large image (about a second for 12 megapixels) never holds up the thread that
// answers requests. The worker is ended when idle (thumbnailer.ts), which also
// hands back the memory the decoders' WebAssembly heaps grew to.
import { CorruptImageError } from "./corrupt-image";
import { renderThumbnail, type RenderJob } from "./render";

declare const self: Worker;

export type WorkerReply = { id: number; ok: true; bytes: Uint8Array } | { id: number; ok: false; corrupt: boolean; message: string };

self.onmessage = async (message: MessageEvent<RenderJob & { id: number }>) => {
  const { id, ...job } = message.data;
  let reply: WorkerReply;
  try {
    reply = { id, ok: true, bytes: await renderThumbnail(job) };
  } catch (error) {
    reply = { id, ok: false, corrupt: error instanceof CorruptImageError, message: (error as Error)?.message ?? String(error) };
  }
  self.postMessage(reply, reply.ok ? [reply.bytes.buffer as ArrayBuffer] : []);
  // The decoded pixels (4 bytes each) are garbage now. Left to the collector's own pace,
  // several large images' worth pile up (measured on the request thread: 557 MiB after six
  // 12-megapixel thumbnails instead of a steady 340); a full collection costs far less than a decode.
  Bun.gc(true);
};
