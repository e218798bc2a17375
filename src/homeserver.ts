// The running server's shared parts, built once at start and handed to every
// API plugin. Tests build as many as they like in one process.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { UserInteractiveAuth } from "./accounts/uia";
import { ConfigError, type Config } from "./config";
import { MediaFiles } from "./media/files";
import { Thumbnailer } from "./media/thumbnailer";
import { UploadWaiters } from "./media/upload-waiters";
import { NewerSchemaError } from "./store/migrations";
import { RateLimiter } from "./http/rate-limit";
import { openStore, type Store } from "./store";
import { Notifier, type Broadcaster } from "./sync/notifier";
import { createTypingTracker, type TypingTracker } from "./sync/typing";
import { createPushDelivery, type PushDelivery } from "./push/delivery";
import { startNotificationPruning } from "./push/retention";
import { loadOrCreateSigningKey } from "./store/signing-key";
import { createLogger, type Logger } from "./util/log";
import { randomString } from "./util/secrets";
import type { SigningKey } from "./util/signing";

export interface Homeserver {
  /** Distinguishes instances in one process (Elysia plugin de-duplication is keyed on it). */
  instanceId: string;
  config: Config;
  store: Store;
  signingKey: SigningKey;
  rateLimiter: RateLimiter;
  uia: UserInteractiveAuth;
  /** Wakes long-polling requests after a commit that concerns them. */
  notifier: Broadcaster;
  /** Who is typing where (memory only). */
  typing: TypingTracker;
  log: Logger;
  /** The media repository's files on disk, waiting downloads and the thumbnail worker. */
  media: { files: MediaFiles; uploads: UploadWaiters; thumbnails: Thumbnailer };
  /** Sends notifications to push gateways after commit. */
  pushDelivery: PushDelivery;
  /** Releases what the instance holds (the database). */
  close(): void;
}

export async function openHomeserver(
  config: Config,
  log: Logger = createLogger(config.log_level),
  options: { checkpointInBackground?: boolean } = {},
): Promise<Homeserver> {
  const dataDir = config.ephemeral ? null : config.data_dir;
  // The folder holds password and token hashes and the signing key: owner only.
  if (dataDir !== null) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  let store: Store;
  try {
    store = openStore(dataDir === null ? ":memory:" : join(dataDir, "homeserver.db"), { checkpointInBackground: options.checkpointInBackground });
  } catch (error) {
    if (error instanceof NewerSchemaError) throw new ConfigError("data_dir", error.message);
    throw error;
  }
  // User ids carry the server name: a data folder cannot change servers.
  const existingUser = store.users.anyUserId();
  if (existingUser !== undefined && !existingUser.endsWith(`:${config.server_name}`)) {
    store.close();
    throw new ConfigError(
      "server_name",
      `the data folder belongs to the server name of ${existingUser}, not ${config.server_name}; the server name cannot change once users exist`,
    );
  }
  const signingKey = await loadOrCreateSigningKey(dataDir);
  const media = { files: MediaFiles.open(dataDir), uploads: new UploadWaiters(), thumbnails: new Thumbnailer(log) };
  const notifier = new Notifier();
  const typing = createTypingTracker({ notifier, store });
  const hs: Homeserver = {
    instanceId: randomString(8),
    config,
    store,
    signingKey,
    rateLimiter: new RateLimiter(config.rate_limits),
    uia: new UserInteractiveAuth(),
    notifier,
    typing,
    log,
    media,
    pushDelivery: undefined as unknown as PushDelivery,
    close: () => {
      stopPruning();
      hs.pushDelivery.close();
      typing.close();
      media.uploads.close();
      media.thumbnails.close();
      media.files.close();
      store.close();
    },
  };
  hs.pushDelivery = createPushDelivery(hs);
  const stopPruning = startNotificationPruning(hs);
  return hs;
}
