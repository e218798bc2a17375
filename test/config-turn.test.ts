// The TURN and user directory settings (see README "Configuration").
import { describe, expect, test } from "bun:test";
import { ConfigError, DEFAULT_CONFIG, configFromEnv, generateConfigText, loadConfig } from "../src/config";

describe("turn and user_directory settings", () => {
  test("defaults: no TURN, directory limited to shared and public rooms", () => {
    expect(DEFAULT_CONFIG.turn).toEqual({ uris: [], shared_secret: null, username: null, password: null, user_lifetime_ms: 3_600_000 });
    expect(DEFAULT_CONFIG.user_directory).toEqual({ search_all_users: false });
  });

  test("from the environment: the URI list as a JSON array, the rest as values", async () => {
    const config = await loadConfig({}, {
      HOMESERVER_TURN__URIS: '["turn:a.example.org","turns:b.example.org:5349"]',
      HOMESERVER_TURN__SHARED_SECRET: "12345",
      HOMESERVER_USER_DIRECTORY__SEARCH_ALL_USERS: "true",
    });
    expect(config.turn.uris).toEqual(["turn:a.example.org", "turns:b.example.org:5349"]);
    expect(config.turn.shared_secret).toBe("12345");
    expect(config.user_directory.search_all_users).toBe(true);
    expect(configFromEnv({ HOMESERVER_TURN__URIS: "not json" })).toEqual({ turn: { uris: "not json" } });
  });

  test("invalid values name the key", async () => {
    const error = await loadConfig({}, { HOMESERVER_TURN__URIS: '["http://not-turn"]' }).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.key).toBe("turn.uris.0");
    const lifetime = await loadConfig({}, { HOMESERVER_TURN__USER_LIFETIME_MS: "5" }).catch((e) => e);
    expect(lifetime.key).toBe("turn.user_lifetime_ms");
  });

  test("generate-config writes them", () => {
    const text = generateConfigText();
    expect(text).toContain("turn:\n");
    expect(text).toContain("  uris: []");
    expect(text).toContain("user_directory:\n  # ");
    expect(Bun.YAML.parse(text)).toMatchObject({ turn: { uris: [] }, user_directory: { search_all_users: false } });
  });
});
