// Administrative clean-up of the media repository (`homeserver media purge`).
// By default only media that nothing points at is removed: no event's content
// (as stored; a redacted event no longer points at its media) and no user's
// avatar mentions its mxc:// URI. Media referenced only from inside encrypted
// events cannot be seen, which is why the age limit is always required.
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Homeserver } from "../homeserver";

export interface PurgeOptions {
  /** Only media uploaded more than this many days ago. */
  olderThanDays: number;
  /** Also remove media that events or avatars still reference. */
  includeReferenced: boolean;
  /** Report what would go, remove nothing. */
  dryRun: boolean;
}

export interface PurgeReport {
  /** Uploaded media removed (or that would be). */
  mediaIds: string[];
  bytes: number;
  /** Created (/create) URIs whose content never came before they expired. */
  expiredPending: number;
  /** Files on disk that no row named (left by a stop between writing a file and recording it). */
  orphanFiles: number;
  /** Whether encrypted rooms exist, whose events may reference media invisibly. */
  encryptedRoomsExist: boolean;
}

const DAY_MS = 86_400_000;
/** Files younger than this may belong to an upload still in progress in a running server. */
const ORPHAN_GRACE_MS = 60 * 60 * 1000;

export async function purgeMedia(hs: Homeserver, options: PurgeOptions, now = Date.now()): Promise<PurgeReport> {
  const media = hs.store.media;
  const referenced = options.includeReferenced ? new Set<string>() : media.referencedMediaIds(hs.config.server_name);
  const doomed = media.uploadedBefore(now - options.olderThanDays * DAY_MS).filter((row) => !referenced.has(row.mediaId));
  const expired = media.expiredPending(now);
  const report: PurgeReport = {
    mediaIds: doomed.map((row) => row.mediaId),
    bytes: doomed.reduce((sum, row) => sum + (row.size ?? 0), 0),
    expiredPending: expired.length,
    orphanFiles: 0,
    encryptedRoomsExist: media.anyEncryptedRoom(),
  };
  if (options.dryRun) return report;
  const unusedFiles = hs.store.transaction(() => [...doomed, ...expired].flatMap((row) => media.delete(row.mediaId)));
  await hs.store.settled();
  for (const sha256 of new Set(unusedFiles)) await hs.media.files.remove(sha256);
  report.orphanFiles = await removeOrphanFiles(hs, now);
  return report;
}

/** Removes files under the media folder that no media or thumbnail row names. */
async function removeOrphanFiles(hs: Homeserver, now: number): Promise<number> {
  const root = hs.media.files.root;
  let removed = 0;
  for (const first of await readdir(root)) {
    if (!/^[0-9a-f]{2}$/.test(first)) continue; // tmp/ and anything else
    for (const second of await readdir(join(root, first))) {
      for (const name of await readdir(join(root, first, second))) {
        if (!/^[0-9a-f]{64}$/.test(name) || hs.store.media.blobInUse(name)) continue;
        const info = await stat(join(root, first, second, name));
        if (now - info.mtimeMs < ORPHAN_GRACE_MS) continue;
        await hs.media.files.remove(name);
        removed++;
      }
    }
  }
  return removed;
}
