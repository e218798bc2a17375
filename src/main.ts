#!/usr/bin/env bun
// Command line: serve, register-user, registration-token, media, generate-config, version.
import { parseArgs } from "node:util";
import pkg from "../package.json" with { type: "json" };
import { createRegistrationToken } from "./accounts/admin";
import { createAccount } from "./accounts/registration";
import { ConfigError, generateConfigText, loadConfig, type ServeFlags } from "./config";
import { purgeMedia } from "./media/purge";
import { openHomeserver } from "./homeserver";
import { MatrixError } from "./http/errors";
import { startServer } from "./server";
import { createLogger } from "./util/log";

const USAGE = `homeserver ${pkg.version}: a Matrix homeserver in one executable

Usage:
  homeserver serve [--config FILE] [--server-name NAME] [--listen HOST:PORT]
                   [--data-dir DIR | --ephemeral] [--registration open|token|closed]
                   [--rate-limits on|off]
  homeserver register-user [--config FILE] [--data-dir DIR] --username U --password P [--admin]
  homeserver registration-token create [--config FILE] [--data-dir DIR] [--uses N] [--expires-in-days D]
  homeserver registration-token list [--config FILE] [--data-dir DIR]
  homeserver media purge --older-than-days N [--include-referenced] [--dry-run] [--config FILE] [--data-dir DIR]
  homeserver generate-config
  homeserver version
`;

const COMMON_OPTIONS = {
  config: { type: "string" },
  "server-name": { type: "string" },
  "data-dir": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function flagsOf(values: Record<string, unknown>): ServeFlags {
  return {
    config: values.config as string | undefined,
    server_name: values["server-name"] as string | undefined,
    listen: values.listen as string | undefined,
    data_dir: values["data-dir"] as string | undefined,
    ephemeral: values.ephemeral as boolean | undefined,
    registration: values.registration as string | undefined,
    rate_limits: values["rate-limits"] as string | undefined,
  };
}

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...COMMON_OPTIONS,
      listen: { type: "string" },
      ephemeral: { type: "boolean" },
      registration: { type: "string" },
      "rate-limits": { type: "string" },
    },
  });
  if (values.help) return void console.log(USAGE);
  if (values.ephemeral && values["data-dir"]) throw new ConfigError("--ephemeral", "cannot be combined with --data-dir");
  const config = await loadConfig(flagsOf(values));
  const log = createLogger(config.log_level);
  const server = await startServer(config, log);
  if (server.bootstrapToken) {
    log.info("No accounts exist yet and registration is closed.");
    log.info(`Register the first (admin) account from any client with this one-time registration token: ${server.bootstrapToken}`);
  }
  console.log(
    `homeserver ${pkg.version} listening on ${server.baseUrl} (server name ${config.server_name}, ` +
      `${config.ephemeral ? "ephemeral, in memory" : `data in ${config.data_dir}`}, registration ${config.registration})`,
  );
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal} received: finishing in-flight requests`);
    await server.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

/** Opens the configured data folder without serving, for offline administration. */
async function openOffline(values: Record<string, unknown>) {
  const config = await loadConfig(flagsOf(values));
  if (config.ephemeral) throw new ConfigError("ephemeral", "offline commands need a data folder");
  return openHomeserver(config, createLogger("warn"));
}

async function registerUser(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...COMMON_OPTIONS,
      username: { type: "string" },
      password: { type: "string" },
      admin: { type: "boolean" },
    },
  });
  if (values.help) return void console.log(USAGE);
  if (!values.username || !values.password) throw new UsageError("register-user needs --username and --password");
  const hs = await openOffline(values);
  try {
    const userId = await createAccount(hs, {
      localpart: values.username.toLowerCase(),
      password: values.password,
      admin: values.admin ?? false,
    });
    console.log(`created ${userId}${values.admin ? " (admin)" : ""}`);
  } finally {
    hs.close();
  }
}

async function registrationToken(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: { ...COMMON_OPTIONS, uses: { type: "string" }, "expires-in-days": { type: "string" } },
  });
  if (values.help || (action !== "create" && action !== "list")) return void console.log(USAGE);
  const hs = await openOffline(values);
  try {
    if (action === "list") {
      for (const row of hs.store.registrationTokens.list()) {
        console.log(`${row.token}\tuses ${row.completed}/${row.usesAllowed ?? "unlimited"}\texpires ${row.expiryTime ? new Date(row.expiryTime).toISOString() : "never"}`);
      }
      return;
    }
    const uses = values.uses === undefined ? null : Number(values.uses);
    const days = values["expires-in-days"] === undefined ? null : Number(values["expires-in-days"]);
    if (uses !== null && !(Number.isInteger(uses) && uses >= 0)) throw new UsageError("--uses must be a whole number");
    if (days !== null && !(days > 0)) throw new UsageError("--expires-in-days must be a positive number");
    const row = createRegistrationToken(hs, {
      uses_allowed: uses,
      expiry_time: days === null ? null : Date.now() + days * 86_400_000,
    });
    console.log(row.token);
  } finally {
    hs.close();
  }
}

/**
 * `media purge`: removes media uploaded more than N days ago that no event and
 * no avatar references (all of it with --include-referenced), expired /create
 * URIs and files no row names. Safe while the server runs.
 */
async function media(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: { ...COMMON_OPTIONS, "older-than-days": { type: "string" }, "include-referenced": { type: "boolean" }, "dry-run": { type: "boolean" } },
  });
  if (values.help || action !== "purge") return void console.log(USAGE);
  const days = Number(values["older-than-days"]);
  if (values["older-than-days"] === undefined || !(days >= 0)) throw new UsageError("media purge needs --older-than-days N (N >= 0)");
  const hs = await openOffline(values);
  try {
    const dryRun = values["dry-run"] ?? false;
    const report = await purgeMedia(hs, { olderThanDays: days, includeReferenced: values["include-referenced"] ?? false, dryRun });
    for (const mediaId of report.mediaIds) console.log(`mxc://${hs.config.server_name}/${mediaId}`);
    console.log(
      `${dryRun ? "would remove" : "removed"} ${report.mediaIds.length} media (${report.bytes} bytes), ` +
        `${report.expiredPending} expired pending uploads${dryRun ? "" : `, ${report.orphanFiles} orphan files`}`,
    );
    if (report.encryptedRoomsExist && !values["include-referenced"]) {
      console.error("note: encrypted rooms exist; media referenced only from encrypted messages counts as unreferenced");
    }
  } finally {
    hs.close();
  }
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  switch (command) {
    case "serve":
      return serve(args);
    case "register-user":
      return registerUser(args);
    case "registration-token":
      return registrationToken(args);
    case "media":
      return media(args);
    case "generate-config":
      return void process.stdout.write(generateConfigText());
    case "version":
    case "--version":
      return void console.log(pkg.version);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      return void console.log(USAGE);
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  if (error instanceof UsageError || (error as { code?: string })?.code?.startsWith("ERR_PARSE_ARGS")) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (error instanceof MatrixError) {
    console.error(`${error.errcode}: ${error.message}`);
    process.exit(1);
  }
  console.error(error);
  process.exit(1);
});
