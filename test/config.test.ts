// Configuration: defaults < config file (YAML or TOML) < environment < flags,
// validated against one schema with errors that name the key.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, DEFAULT_CONFIG, configFromEnv, generateConfigText, loadConfig, validateConfig } from "../src/config";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "hs-config-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The ConfigError thrown by `work`, or a failure if there is none. */
async function configError(work: () => unknown): Promise<ConfigError> {
  try {
    await work();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

const withDefaults = (over: Record<string, unknown>) => ({ ...structuredClone(DEFAULT_CONFIG), ...over });

describe("configFromEnv", () => {
  test("maps HOMESERVER_* names to lower-case keys and ignores everything else", () => {
    expect(configFromEnv({ HOMESERVER_SERVER_NAME: "example.org", PATH: "/bin", HOME: "/root", homeserver_x: "y" })).toEqual({
      server_name: "example.org",
    });
  });

  test("a double underscore nests", () => {
    expect(
      configFromEnv({
        HOMESERVER_RATE_LIMITS__LOGIN__BURST: "20",
        HOMESERVER_RATE_LIMITS__LOGIN__PER_SECOND: "0.25",
        HOMESERVER_PASSWORD_HASHING__ITERATIONS: "3",
      }),
    ).toEqual({ rate_limits: { login: { burst: 20, per_second: 0.25 } }, password_hashing: { iterations: 3 } });
  });

  test("numbers, booleans and null are read as JSON, other values as strings", () => {
    expect(
      configFromEnv({
        HOMESERVER_EPHEMERAL: "true",
        HOMESERVER_X_FORWARDED: "false",
        HOMESERVER_PUBLIC_BASEURL: "null",
        HOMESERVER_MAX_REQUEST_BODY_BYTES: "200000",
        HOMESERVER_LISTEN: "0.0.0.0:8448",
      }),
    ).toEqual({ ephemeral: true, x_forwarded: false, public_baseurl: null, max_request_body_bytes: 200000, listen: "0.0.0.0:8448" });
  });

  test("HOMESERVER_RATE_LIMITS=on/off is the shortcut for rate_limits.enabled", () => {
    expect(configFromEnv({ HOMESERVER_RATE_LIMITS: "off" })).toEqual({ rate_limits: { enabled: false } });
    expect(configFromEnv({ HOMESERVER_RATE_LIMITS: "on" })).toEqual({ rate_limits: { enabled: true } });
  });

  test("the shortcut combines with nested rate limit settings", () => {
    expect(configFromEnv({ HOMESERVER_RATE_LIMITS: "off", HOMESERVER_RATE_LIMITS__LOGIN__BURST: "3" })).toEqual({
      rate_limits: { enabled: false, login: { burst: 3 } },
    });
  });

  test("string settings keep digit-only values as strings (a numeric shared secret, leading zeros)", () => {
    const tree = configFromEnv({ HOMESERVER_REGISTRATION_SHARED_SECRET: "0123456789", HOMESERVER_SERVER_NAME: "007" });
    expect(tree).toEqual({ registration_shared_secret: "0123456789", server_name: "007" });
  });

  test("a value with a leading zero for a number setting does not crash", () => {
    expect(() => configFromEnv({ HOMESERVER_MAX_REQUEST_BODY_BYTES: "0100000" })).not.toThrow();
  });
});

describe("validateConfig", () => {
  test("accepts the defaults", () => {
    expect(validateConfig(structuredClone(DEFAULT_CONFIG) as never)).toEqual(DEFAULT_CONFIG);
  });

  test("a type error names the dotted key and the value", async () => {
    const error = await configError(() =>
      validateConfig(withDefaults({ rate_limits: { ...DEFAULT_CONFIG.rate_limits, login: { per_second: "fast", burst: 1 } } })),
    );
    expect(error.key).toBe("rate_limits.login.per_second");
    expect(error.message).toContain("rate_limits.login.per_second");
    expect(error.message).toContain('"fast"');
  });

  test("a top-level type error names the key", async () => {
    const error = await configError(() => validateConfig(withDefaults({ ephemeral: "yes" })));
    expect(error.key).toBe("ephemeral");
    expect(error.message).toContain("ephemeral");
  });

  test("an unknown top-level key is named", async () => {
    const error = await configError(() => validateConfig(withDefaults({ srever_name: "typo.org" })));
    expect(error.key).toBe("srever_name");
    expect(error.message).toContain("srever_name");
    expect(error.message).toContain("unknown");
  });

  test("an unknown nested key is named with its path", async () => {
    const error = await configError(() =>
      validateConfig(withDefaults({ rate_limits: { ...DEFAULT_CONFIG.rate_limits, login: { per_second: 1, burst: 1, brust: 2 } } })),
    );
    expect(error.key).toBe("rate_limits.login.brust");
    const second = await configError(() =>
      validateConfig(withDefaults({ password_hashing: { memory_kib: 19456, iterations: 2, parallelism: 4 } })),
    );
    expect(second.key).toBe("password_hashing.parallelism");
  });

  test("enumerations and patterns are enforced", async () => {
    expect((await configError(() => validateConfig(withDefaults({ registration: "maybe" })))).key).toBe("registration");
    expect((await configError(() => validateConfig(withDefaults({ listen: "localhost" })))).key).toBe("listen");
    expect((await configError(() => validateConfig(withDefaults({ log_level: "verbose" })))).key).toBe("log_level");
    expect((await configError(() => validateConfig(withDefaults({ public_baseurl: "matrix.example.org" })))).key).toBe("public_baseurl");
    expect((await configError(() => validateConfig(withDefaults({ max_request_body_bytes: 100 })))).key).toBe("max_request_body_bytes");
  });

  test("a port outside 0-65535 is refused", async () => {
    expect((await configError(() => validateConfig(withDefaults({ listen: "127.0.0.1:99999" })))).key).toBe("listen");
    expect(validateConfig(withDefaults({ listen: "127.0.0.1:65535" })).listen).toBe("127.0.0.1:65535");
    expect(validateConfig(withDefaults({ listen: "[::1]:0" })).listen).toBe("[::1]:0");
  });
});

describe("loadConfig", () => {
  test("with nothing set, the defaults", async () => {
    expect(await loadConfig({}, {})).toEqual(DEFAULT_CONFIG);
  });

  test("precedence: defaults < file < environment < flags", async () => {
    const path = file(
      "layers.yaml",
      [
        "server_name: file.example",
        "public_baseurl: https://file.example",
        "serve_server_wellknown: file.example:443",
        "log_level: warn",
        "rate_limits:",
        "  login:",
        "    burst: 7",
      ].join("\n"),
    );
    const config = await loadConfig(
      { config: path, server_name: "flag.example", rate_limits: "off" },
      {
        HOMESERVER_SERVER_NAME: "env.example",
        HOMESERVER_PUBLIC_BASEURL: "https://env.example",
        HOMESERVER_RATE_LIMITS__ENABLED: "true",
      },
    );
    expect(config.server_name).toBe("flag.example"); // flag over env over file
    expect(config.public_baseurl).toBe("https://env.example"); // env over file
    expect(config.serve_server_wellknown).toBe("file.example:443"); // file over default
    expect(config.log_level).toBe("warn");
    expect(config.rate_limits.enabled).toBe(false); // flag over env
    // Nested settings merge key by key: the rest of rate_limits.login keeps its default.
    expect(config.rate_limits.login).toEqual({ per_second: DEFAULT_CONFIG.rate_limits.login.per_second, burst: 7 });
    expect(config.rate_limits.message).toEqual(DEFAULT_CONFIG.rate_limits.message);
    expect(config.registration).toBe(DEFAULT_CONFIG.registration);
  });

  test("every flag lands on its key", async () => {
    const config = await loadConfig(
      { server_name: "f.example", listen: "127.0.0.1:9000", data_dir: "/tmp/somewhere", registration: "token", rate_limits: "off" },
      {},
    );
    expect(config).toMatchObject({
      server_name: "f.example",
      listen: "127.0.0.1:9000",
      data_dir: "/tmp/somewhere",
      registration: "token",
    });
    expect(config.rate_limits.enabled).toBe(false);
  });

  test("a TOML file works the same", async () => {
    const path = file(
      "config.toml",
      ['server_name = "toml.example"', 'registration = "open"', "", "[rate_limits]", "enabled = false", "", "[rate_limits.login]", "burst = 3"].join(
        "\n",
      ),
    );
    const config = await loadConfig({ config: path }, {});
    expect(config.server_name).toBe("toml.example");
    expect(config.registration).toBe("open");
    expect(config.rate_limits.enabled).toBe(false);
    expect(config.rate_limits.login.burst).toBe(3);
  });

  test("an empty file is the defaults", async () => {
    expect(await loadConfig({ config: file("empty.yaml", "") }, {})).toEqual(DEFAULT_CONFIG);
  });

  test("an unknown key in the file is named", async () => {
    const error = await configError(() => loadConfig({ config: file("unknown.yaml", "server_name: a.example\nlisten_port: 80\n") }, {}));
    expect(error.key).toBe("listen_port");
    expect(error.message).toContain("listen_port");
  });

  test("a wrong type in the file names the key", async () => {
    const error = await configError(() => loadConfig({ config: file("type.yaml", "rate_limits:\n  join:\n    burst: lots\n") }, {}));
    expect(error.key).toBe("rate_limits.join.burst");
  });

  test("a file that is not a mapping, does not parse or does not exist is a ConfigError", async () => {
    expect((await configError(() => loadConfig({ config: file("list.yaml", "- a\n- b\n") }, {}))).key).toBe("--config");
    expect((await configError(() => loadConfig({ config: file("broken.toml", "server_name = \n[[[") }, {}))).key).toBe("--config");
    const missing = await configError(() => loadConfig({ config: join(dir, "no-such-file.yaml") }, {}));
    expect(missing.key).toBe("--config");
    expect(missing.message).toContain("no-such-file.yaml");
  });

  test("a bad environment value names the key", async () => {
    const error = await configError(() => loadConfig({}, { HOMESERVER_REGISTRATION: "sometimes" }));
    expect(error.key).toBe("registration");
    const unknown = await configError(() => loadConfig({}, { HOMESERVER_NOT_A_SETTING: "1" }));
    expect(unknown.key).toBe("not_a_setting");
  });

  test("--rate-limits accepts only on and off", async () => {
    const error = await configError(() => loadConfig({ rate_limits: "sometimes" }, {}));
    expect(error.key).toBe("rate_limits");
    expect((await loadConfig({ rate_limits: "on" }, { HOMESERVER_RATE_LIMITS: "off" })).rate_limits.enabled).toBe(true);
  });

  test("--ephemeral opens registration by default, but an explicit setting wins", async () => {
    expect((await loadConfig({ ephemeral: true }, {})).registration).toBe("open");
    expect((await loadConfig({ ephemeral: true }, { HOMESERVER_REGISTRATION: "closed" })).registration).toBe("closed");
    expect((await loadConfig({ ephemeral: true, registration: "token" }, {})).registration).toBe("token");
    expect((await loadConfig({}, {})).registration).toBe("closed");
    expect((await loadConfig({}, { HOMESERVER_EPHEMERAL: "true" })).registration).toBe("open");
  });
});

describe("generateConfigText", () => {
  test("is YAML that parses back to exactly the defaults, with every key commented", async () => {
    const text = generateConfigText();
    expect(Bun.YAML.parse(text)).toEqual(DEFAULT_CONFIG as never);
    for (const key of Object.keys(DEFAULT_CONFIG)) expect(text).toMatch(new RegExp(`^${key}:`, "m"));
    expect(text).toContain("# The domain part of user ids");
    expect(await loadConfig({ config: file("generated.yaml", text) }, {})).toEqual(DEFAULT_CONFIG);
  });
});
