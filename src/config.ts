// Configuration: defaults < config file (YAML or TOML) < environment (HOMESERVER_*) < flags.
// The merged result is validated against one TypeBox schema; an invalid value is
// reported with the dotted key that holds it.
import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { Value, ValueErrorType } from "@sinclair/typebox/value";

const Bucket = Type.Object(
  {
    per_second: Type.Number({ exclusiveMinimum: 0, description: "tokens added per second" }),
    burst: Type.Integer({ minimum: 1, description: "bucket size: requests allowed at once" }),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    server_name: Type.String({
      minLength: 1,
      pattern: "^[A-Za-z0-9.\\-:\\[\\]]+$",
      description: "The domain part of user ids and room aliases. Cannot change once users exist.",
    }),
    listen: Type.String({ pattern: "^.+:[0-9]{1,5}$", description: "HOST:PORT to listen on" }),
    data_dir: Type.String({ minLength: 1, description: "Folder for the database and the signing key" }),
    ephemeral: Type.Boolean({ description: "Keep everything in memory; write nothing to disk" }),
    public_baseurl: Type.Union([Type.String({ pattern: "^https?://" }), Type.Null()], {
      description:
        "Public URL clients use to reach this server (e.g. https://matrix.example.org). When set it is " +
        "served in /.well-known/matrix/client and returned as well_known by /login.",
    }),
    serve_server_wellknown: Type.Union([Type.String(), Type.Null()], {
      description: "If set (e.g. matrix.example.org:443), /.well-known/matrix/server delegates federation there",
    }),
    registration: Type.Union([Type.Literal("open"), Type.Literal("token"), Type.Literal("closed")], {
      description: "open: anyone registers; token: a registration token is required; closed: only admins create users",
    }),
    allow_guest_access: Type.Boolean({ description: "Allow guest accounts (register?kind=guest)" }),
    registration_shared_secret: Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
      description: "Secret for Synapse-compatible shared-secret registration (/_synapse/admin/v1/register)",
    }),
    allow_access_token_in_query: Type.Boolean({
      description: "Accept the deprecated ?access_token= query parameter",
    }),
    refreshable_access_token_lifetime_ms: Type.Integer({
      minimum: 1000,
      description: "Lifetime of access tokens issued together with a refresh token",
    }),
    max_request_body_bytes: Type.Integer({
      minimum: 70000,
      description: "Largest JSON request body accepted (must hold a 64 KiB event plus overhead)",
    }),
    password_hashing: Type.Object(
      {
        memory_kib: Type.Integer({ minimum: 1024, description: "argon2id memory cost in KiB (OWASP minimum: 19456)" }),
        iterations: Type.Integer({ minimum: 1, description: "argon2id time cost" }),
      },
      { additionalProperties: false },
    ),
    presence_enabled: Type.Boolean({
      description: "Track and share online/offline presence with users who share a room",
    }),
    x_forwarded: Type.Boolean({
      description: "Trust X-Forwarded-For for the client address (only behind your own reverse proxy)",
    }),
    user_directory: Type.Object(
      {
        search_all_users: Type.Boolean({
          description:
            "User directory search finds every local user, not only those sharing a room with the searcher or in a public room",
        }),
      },
      { additionalProperties: false },
    ),
    turn: Type.Object(
      {
        uris: Type.Array(Type.String({ pattern: "^turns?:" }), {
          description: "TURN server URIs handed to clients by /voip/turnServer (e.g. turn:turn.example.org:3478?transport=udp); empty: no TURN",
        }),
        shared_secret: Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
          description: "Secret shared with the TURN server (coturn's static-auth-secret) for time-limited credentials",
        }),
        username: Type.Union([Type.String(), Type.Null()], { description: "Static TURN username, when no shared_secret is set" }),
        password: Type.Union([Type.String(), Type.Null()], { description: "Static TURN password, when no shared_secret is set" }),
        user_lifetime_ms: Type.Integer({ minimum: 1000, description: "How long time-limited TURN credentials stay valid" }),
      },
      { additionalProperties: false },
    ),
    log_level: Type.Union([Type.Literal("debug"), Type.Literal("info"), Type.Literal("warn"), Type.Literal("error")]),
    media: Type.Object(
      {
        max_upload_bytes: Type.Integer({ minimum: 1, description: "Largest file a user can upload (m.upload.size)" }),
        user_quota_bytes: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
          description: "Total bytes each user may have uploaded (null: no quota)",
        }),
        max_image_pixels: Type.Integer({
          minimum: 1,
          description: "Images with more pixels (width x height) are not thumbnailed, so that decoding cannot exhaust memory",
        }),
        serve_unauthenticated: Type.Boolean({
          description: "Also serve the deprecated unauthenticated /_matrix/media/v3 (and r0) download and thumbnail endpoints",
        }),
        pending_upload_lifetime_ms: Type.Integer({
          minimum: 1000,
          description: "How long an mxc:// URI from /_matrix/media/v1/create waits for its content",
        }),
        max_pending_uploads: Type.Integer({ minimum: 1, description: "Created but not yet uploaded mxc:// URIs a user may hold" }),
        url_preview: Type.Object(
          {
            enabled: Type.Boolean({ description: "Fetch URLs for /preview_url (off: the endpoint answers 403 M_FORBIDDEN)" }),
            allow_private_addresses: Type.Boolean({
              description: "Let previews fetch private, loopback and link-local addresses (only for testing)",
            }),
            max_bytes: Type.Integer({ minimum: 1024, description: "Largest page or image fetched for a preview" }),
            timeout_ms: Type.Integer({ minimum: 100, description: "Time limit for fetching one URL" }),
          },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    ),
    outbound_extra_ca_file: Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
      description: "PEM file of a CA certificate to trust, besides the system's, for outbound HTTPS (push gateways, URL previews)",
    }),
    push: Type.Object(
      {
        max_attempts: Type.Integer({ minimum: 1, description: "Attempts to deliver one notification to a push gateway before giving up" }),
        retry_initial_ms: Type.Integer({ minimum: 1, description: "Wait before the first retry; each later retry waits twice as long" }),
        notification_retention_days: Type.Number({
          exclusiveMinimum: 0,
          description: "Notifications older than this leave GET /notifications and no longer count as unread",
        }),
      },
      { additionalProperties: false },
    ),
    rate_limits: Type.Object(
      {
        enabled: Type.Boolean({ description: "Turn every rate limit on or off" }),
        login: Bucket,
        failed_login_per_account: Bucket,
        registration: Bucket,
        message: Bucket,
        room_creation: Bucket,
        join: Bucket,
        invite: Bucket,
        media_upload: Bucket,
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type RateLimitAction = Exclude<keyof Config["rate_limits"], "enabled">;

export const DEFAULT_CONFIG: Config = {
  server_name: "localhost",
  listen: "127.0.0.1:8008",
  data_dir: "./data",
  ephemeral: false,
  public_baseurl: null,
  serve_server_wellknown: null,
  registration: "closed",
  allow_guest_access: false,
  registration_shared_secret: null,
  allow_access_token_in_query: true,
  refreshable_access_token_lifetime_ms: 5 * 60 * 1000,
  max_request_body_bytes: 1024 * 1024,
  // OWASP's recommended argon2id minimum: about 40 ms a hash on a laptop core.
  password_hashing: { memory_kib: 19456, iterations: 2 },
  presence_enabled: true,
  x_forwarded: false,
  user_directory: { search_all_users: false },
  turn: { uris: [], shared_secret: null, username: null, password: null, user_lifetime_ms: 60 * 60 * 1000 },
  log_level: "info",
  media: {
    // Synapse's default.
    max_upload_bytes: 50 * 1024 * 1024,
    user_quota_bytes: null,
    // Synapse's default max_image_pixels; about 130 MB of RGBA while decoding.
    max_image_pixels: 32_000_000,
    serve_unauthenticated: true,
    // The spec's recommended default (POST /_matrix/media/v1/create).
    pending_upload_lifetime_ms: 24 * 60 * 60 * 1000,
    max_pending_uploads: 5,
    url_preview: { enabled: false, allow_private_addresses: false, max_bytes: 10 * 1024 * 1024, timeout_ms: 10_000 },
  },
  outbound_extra_ca_file: null,
  push: { max_attempts: 6, retry_initial_ms: 1000, notification_retention_days: 30 },
  rate_limits: {
    enabled: true,
    login: { per_second: 0.5, burst: 10 },
    failed_login_per_account: { per_second: 0.2, burst: 5 },
    registration: { per_second: 0.5, burst: 10 },
    message: { per_second: 10, burst: 50 },
    room_creation: { per_second: 1, burst: 10 },
    join: { per_second: 1, burst: 10 },
    invite: { per_second: 1, burst: 10 },
    media_upload: { per_second: 2, burst: 20 },
  },
};

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`invalid configuration: ${key}: ${message}`);
  }
}

type Tree = Record<string, unknown>;

/** The command-line flags of `serve`, already parsed into config keys. */
export interface ServeFlags {
  config?: string;
  server_name?: string;
  listen?: string;
  data_dir?: string;
  ephemeral?: boolean;
  registration?: string;
  rate_limits?: string;
}

/**
 * Builds the effective configuration. `--ephemeral` changes two defaults (not
 * explicit settings): registration becomes open, as throwaway instances are for
 * developing clients and bots.
 */
export async function loadConfig(flags: ServeFlags = {}, env: Record<string, string | undefined> = process.env): Promise<Config> {
  const fromFile = flags.config ? await readConfigFile(flags.config) : {};
  const fromEnv = configFromEnv(env);
  const fromFlags = configFromFlags(flags);
  const explicit = deepMerge(deepMerge(fromFile, fromEnv), fromFlags);
  const defaults = structuredClone(DEFAULT_CONFIG) as unknown as Tree;
  if (explicit.ephemeral === true) defaults.registration = "open";
  return validateConfig(deepMerge(defaults, explicit));
}

export function validateConfig(candidate: Tree): Config {
  const first = Value.Errors(ConfigSchema, candidate).First();
  if (first) {
    const key = first.path.replace(/^\//, "").replaceAll("/", ".") || "(root)";
    // TypeBox reports an unexpected property at its own path (e.g. /rate_limits/login/brust).
    if (first.type === ValueErrorType.ObjectAdditionalProperties) throw new ConfigError(key, "unknown configuration key");
    throw new ConfigError(key, `${first.message} (got ${JSON.stringify(first.value)})`);
  }
  // The pattern admits five digits; Bun would silently clamp a port above 65535 to 65535.
  const port = Number((candidate as Config).listen.slice((candidate as Config).listen.lastIndexOf(":") + 1));
  if (port > 65535) throw new ConfigError("listen", `port must be between 0 and 65535 (got ${port})`);
  return candidate as Config;
}

/** The schema of the setting at `path`, or undefined for a key the schema does not know. */
function schemaAt(path: string[]): TSchema | undefined {
  let schema: TSchema | undefined = ConfigSchema;
  for (const part of path) schema = (schema as { properties?: Record<string, TSchema> } | undefined)?.properties?.[part];
  return schema;
}

function acceptsString(schema: TSchema): boolean {
  return schema.type === "string" || ((schema.anyOf as TSchema[] | undefined)?.some(acceptsString) ?? false);
}

async function readConfigFile(path: string): Promise<Tree> {
  const file = Bun.file(path);
  if (!(await file.exists())) throw new ConfigError("--config", `file not found: ${path}`);
  const text = await file.text();
  try {
    const parsed = path.endsWith(".toml") ? Bun.TOML.parse(text) : Bun.YAML.parse(text);
    if (parsed === null || parsed === undefined) return {};
    if (typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("the top level must be a mapping");
    return parsed as Tree;
  } catch (error) {
    throw new ConfigError("--config", `cannot parse ${path}: ${(error as Error).message}`);
  }
}

/**
 * HOMESERVER_SERVER_NAME=example.org sets server_name; a double underscore nests:
 * HOMESERVER_RATE_LIMITS__LOGIN__BURST=20. Values are read as JSON when they parse
 * as such (numbers, booleans, null), otherwise as strings. HOMESERVER_RATE_LIMITS=off
 * is the same shortcut as the --rate-limits flag.
 */
export function configFromEnv(env: Record<string, string | undefined>): Tree {
  const tree: Tree = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith("HOMESERVER_") || raw === undefined) continue;
    const path = name.slice("HOMESERVER_".length).toLowerCase().split("__");
    if (path.join("__") === "rate_limits" && (raw === "on" || raw === "off")) {
      setPath(tree, ["rate_limits", "enabled"], raw === "on");
      continue;
    }
    setPath(tree, path, parseEnvValue(path, raw));
  }
  return tree;
}

/**
 * A setting that takes text gets the text as it is, so that a numeric shared secret or
 * server name stays a string; elsewhere true/false and numbers are converted. "null"
 * is null everywhere (the nullable settings are the ones it makes sense for).
 */
function parseEnvValue(path: string[], raw: string): unknown {
  if (raw === "null") return null;
  const schema = schemaAt(path);
  if (schema !== undefined && acceptsString(schema)) return raw;
  if (raw === "true" || raw === "false") return raw === "true";
  // A list (turn.uris) is given as a JSON array: HOMESERVER_TURN__URIS='["turn:a"]'.
  if (schema?.type === "array") {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  // Number(), not JSON.parse: "0100" is 100 rather than a syntax error.
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  return raw;
}

function configFromFlags(flags: ServeFlags): Tree {
  const tree: Tree = {};
  if (flags.server_name !== undefined) tree.server_name = flags.server_name;
  if (flags.listen !== undefined) tree.listen = flags.listen;
  if (flags.data_dir !== undefined) tree.data_dir = flags.data_dir;
  if (flags.ephemeral) tree.ephemeral = true;
  if (flags.registration !== undefined) tree.registration = flags.registration;
  if (flags.rate_limits !== undefined) {
    if (flags.rate_limits !== "on" && flags.rate_limits !== "off") {
      throw new ConfigError("rate_limits", `--rate-limits must be on or off (got ${JSON.stringify(flags.rate_limits)})`);
    }
    tree.rate_limits = { enabled: flags.rate_limits === "on" };
  }
  return tree;
}

function setPath(tree: Tree, path: string[], value: unknown): void {
  let node = tree;
  for (const part of path.slice(0, -1)) {
    if (typeof node[part] !== "object" || node[part] === null) node[part] = {};
    node = node[part] as Tree;
  }
  node[path[path.length - 1]!] = value;
}

function deepMerge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] =
      isPlainObject(current) && isPlainObject(value) ? deepMerge(current as Tree, value as Tree) : value;
  }
  return out;
}

function isPlainObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `generate-config`: a commented YAML file with every option at its default. */
export function generateConfigText(): string {
  const lines = [
    "# Homeserver configuration (YAML; a .toml file with the same keys works too).",
    "# Precedence: defaults < this file < environment (HOMESERVER_*, __ nests) < command-line flags.",
    "",
  ];
  const emit = (schema: TSchema, value: unknown, indent: string) => {
    for (const [key, child] of Object.entries((schema as any).properties as Record<string, TSchema>)) {
      const current = (value as Tree)[key];
      if (child.description) lines.push(`${indent}# ${child.description}`);
      if (isPlainObject(current)) {
        lines.push(`${indent}${key}:`);
        emit(child, current, `${indent}  `);
      } else {
        lines.push(`${indent}${key}: ${JSON.stringify(current)}`);
      }
    }
  };
  emit(ConfigSchema, DEFAULT_CONFIG, "");
  return `${lines.join("\n")}\n`;
}
