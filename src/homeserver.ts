// The running server's shared parts, built once at start and handed to every
// API plugin. Tests build as many as they like in one process.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { UserInteractiveAuth } from "./accounts/uia";
import type { Config } from "./config";
import { RateLimiter } from "./http/rate-limit";
import { openStore, type Store } from "./store";
import { Notifier } from "./sync/notifier";
import { createTypingTracker, type TypingTracker } from "./sync/typing";
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
  notifier: Notifier;
  /** Who is typing where (memory only). */
  typing: TypingTracker;
  log: Logger;
  /** Releases what the instance holds (the database). */
  close(): void;
}

export async function openHomeserver(config: Config, log: Logger = createLogger(config.log_level)): Promise<Homeserver> {
  const dataDir = config.ephemeral ? null : config.data_dir;
  if (dataDir !== null) mkdirSync(dataDir, { recursive: true });
  const store = openStore(dataDir === null ? ":memory:" : join(dataDir, "homeserver.db"));
  const signingKey = await loadOrCreateSigningKey(dataDir);
  const notifier = new Notifier();
  const typing = createTypingTracker({ notifier, store });
  return {
    instanceId: randomString(8),
    config,
    store,
    signingKey,
    rateLimiter: new RateLimiter(config.rate_limits),
    uia: new UserInteractiveAuth(),
    notifier,
    typing,
    log,
    close: () => {
      typing.close();
      store.close();
    },
  };
}
