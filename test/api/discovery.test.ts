import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../helpers/server";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

describe("GET /_matrix/client/versions", () => {
  test("lists stable spec versions matrix-js-sdk accepts", async () => {
    const response = await server.request("GET", "/_matrix/client/versions");
    expect(response.status).toBe(200);
    expect(response.body.versions).toContain("v1.1");
    expect(response.body.versions).toContain("v1.11");
    expect(response.body.unstable_features).toBeObject();
  });

  test("carries CORS headers", async () => {
    const response = await server.request("GET", "/_matrix/client/versions");
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("capabilities", () => {
  test("needs an access token", async () => {
    const response = await server.request("GET", "/_matrix/client/v3/capabilities");
    expect(response.status).toBe(401);
    expect(response.body.errcode).toBe("M_MISSING_TOKEN");
  });

  test("advertises room versions 10 and 11 with 11 the default", async () => {
    const alice = await server.register("cap-alice");
    const response = await server.request("GET", "/_matrix/client/v3/capabilities", { token: alice.access_token });
    expect(response.status).toBe(200);
    expect(response.body.capabilities["m.room_versions"]).toEqual({
      default: "11",
      available: { "10": "stable", "11": "stable" },
    });
    expect(response.body.capabilities["m.change_password"]).toEqual({ enabled: true });
  });
});
