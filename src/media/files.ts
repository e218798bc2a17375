// Media files on disk, named by the SHA-256 of their content:
// <data_dir>/media/<first 2 hex>/<next 2 hex>/<sha256>. Identical uploads share
// one file. A file is written to <root>/tmp first, flushed to disk and then
// renamed into place, so a crash never leaves a half-written file under a name
// that is served; leftovers in tmp/ are removed at the next start.
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { mkdir, open, rename, rm, stat, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { randomString } from "../util/secrets";

export interface StoredFile {
  sha256: string;
  size: number;
}

/** The body was larger than allowed; nothing was stored. */
export class FileTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`larger than ${limit} bytes`);
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export class MediaFiles {
  private constructor(
    readonly root: string,
    private readonly temporary: boolean,
  ) {}

  /** The folder under the data folder, or a temporary one that close() removes (ephemeral servers). */
  static open(dataDir: string | null): MediaFiles {
    const root = dataDir === null ? mkdtempSync(join(tmpdir(), "homeserver-media-")) : join(dataDir, "media");
    mkdirSync(join(root, "tmp"), { recursive: true, mode: 0o700 });
    // Half-written files of a previous run that stopped mid-upload.
    for (const name of readdirSync(join(root, "tmp"))) rmSync(join(root, "tmp", name), { force: true });
    return new MediaFiles(root, dataDir === null);
  }

  /** Where the file with this hash is (the hash is checked, so no other path can be built). */
  path(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a SHA-256: ${sha256}`);
    return join(this.root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  /** Streams a request body to disk, refusing more than `maxBytes` (FileTooLargeError). */
  async storeStream(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<StoredFile> {
    return this.write(async (append) => {
      if (body === null) return;
      const reader = body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          if ((await append(value)) > maxBytes) throw new FileTooLargeError(maxBytes);
        }
      } catch (error) {
        // Stop receiving the rest of a refused body. (releaseLock() on Bun's request streams throws, so the lock is left.)
        await reader.cancel().catch(() => {});
        throw error;
      }
    });
  }

  async storeBytes(bytes: Uint8Array): Promise<StoredFile> {
    return this.write(async (append) => void (await append(bytes)));
  }

  /** `produce` appends chunks; each append returns the bytes written so far. */
  private async write(produce: (append: (chunk: Uint8Array) => Promise<number>) => Promise<void>): Promise<StoredFile> {
    const temp = join(this.root, "tmp", randomString(16));
    const handle = await open(temp, "wx", 0o600);
    const hasher = new Bun.CryptoHasher("sha256");
    let size = 0;
    let finished = false;
    try {
      await produce(async (chunk) => {
        hasher.update(chunk);
        size += chunk.byteLength;
        let offset = 0;
        while (offset < chunk.byteLength) offset += (await handle.write(chunk, offset)).bytesWritten;
        return size;
      });
      await handle.sync();
      await handle.close();
      finished = true;
      const sha256 = hasher.digest("hex");
      const target = this.path(sha256);
      if (await exists(target)) {
        await unlink(temp); // the same content is already stored
      } else {
        await mkdir(dirname(target), { recursive: true, mode: 0o700 });
        await rename(temp, target);
        await syncFolder(dirname(target));
      }
      return { sha256, size };
    } catch (error) {
      if (!finished) await handle.close().catch(() => {});
      await rm(temp, { force: true });
      throw error;
    }
  }

  async remove(sha256: string): Promise<void> {
    await rm(this.path(sha256), { force: true });
  }

  close(): void {
    if (this.temporary) rmSync(this.root, { recursive: true, force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A rename is durable once the folder holding the new name is flushed. */
async function syncFolder(path: string): Promise<void> {
  const folder = await open(path, "r");
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
