// Server-side key backups (spec: Client-Server API, "Server-side key backups").
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "../helpers/server";

const v3 = "/_matrix/client/v3";
const ALGORITHM = "m.megolm_backup.v1.curve25519-aes-sha2";
type User = { user_id: string; access_token: string; device_id: string };
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const call = (user: User, method: string, path: string, body?: unknown) => server.request(method, `${v3}${path}`, { token: user.access_token, body });
const createVersion = async (user: User, publicKey = "pub") => {
  const response = await call(user, "POST", "/room_keys/version", { algorithm: ALGORITHM, auth_data: { public_key: publicKey, signatures: {} } });
  expect(response.status).toBe(200);
  return response.body.version as string;
};
const key = (firstMessageIndex: number, forwardedCount: number, isVerified: boolean, marker = "data") => ({
  first_message_index: firstMessageIndex,
  forwarded_count: forwardedCount,
  is_verified: isVerified,
  session_data: { ephemeral: "eph", ciphertext: marker, mac: "mac" },
});
const ROOM = "!room:localhost";
const room = encodeURIComponent(ROOM);
const putKey = (user: User, version: string, sessionId: string, body: unknown) => call(user, "PUT", `/room_keys/keys/${room}/${sessionId}?version=${version}`, body);
const getKey = (user: User, version: string, sessionId: string) => call(user, "GET", `/room_keys/keys/${room}/${sessionId}?version=${version}`);

describe("backup versions", () => {
  test("no backup: the current version is 404 M_NOT_FOUND", async () => {
    const user = await server.register("backup-none");
    const response = await call(user, "GET", "/room_keys/version");
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ errcode: "M_NOT_FOUND", error: "No current backup version" });
  });

  test("create, read the current and a given version; ids are strings and never reused", async () => {
    const user = await server.register("backup-versions");
    expect(await createVersion(user, "first")).toBe("1");
    const current = await call(user, "GET", "/room_keys/version");
    expect(current.status).toBe(200);
    expect(current.body).toEqual({ algorithm: ALGORITHM, auth_data: { public_key: "first", signatures: {} }, count: 0, etag: expect.any(String), version: "1" });
    expect((await call(user, "GET", "/room_keys/version/1")).body).toEqual(current.body);

    expect(await createVersion(user, "second")).toBe("2");
    expect((await call(user, "GET", "/room_keys/version")).body.version).toBe("2");
    // Deleting the newest makes the previous live version current again.
    expect((await call(user, "DELETE", "/room_keys/version/2")).status).toBe(200);
    expect((await call(user, "GET", "/room_keys/version")).body.version).toBe("1");
    // A deleted number is not handed out again.
    expect(await createVersion(user, "third")).toBe("3");
    expect((await call(user, "GET", "/room_keys/version")).body.version).toBe("3");
  });

  test("create needs an algorithm and an auth_data object", async () => {
    const user = await server.register("backup-create-bad");
    for (const body of [{ auth_data: {} }, { algorithm: ALGORITHM }, { algorithm: ALGORITHM, auth_data: "x" }, { algorithm: ALGORITHM, auth_data: [1] }, { algorithm: 5, auth_data: {} }]) {
      const response = await call(user, "POST", "/room_keys/version", body);
      expect(response.status).toBe(400);
      expect(response.body.errcode).toStartWith("M_");
    }
    const notJson = await server.request("POST", `${v3}/room_keys/version`, { token: user.access_token, body: "{nope" });
    expect(notJson.body.errcode).toBe("M_NOT_JSON");
    expect((await call(user, "GET", "/room_keys/version")).status).toBe(404);
  });

  test("update changes only auth_data; the algorithm and the body's version must match", async () => {
    const user = await server.register("backup-update");
    const version = await createVersion(user, "old");
    const wrongAlgorithm = await call(user, "PUT", `/room_keys/version/${version}`, { algorithm: "m.other", auth_data: { public_key: "new" } });
    expect(wrongAlgorithm.status).toBe(400);
    expect(wrongAlgorithm.body.errcode).toBe("M_INVALID_PARAM");
    const wrongVersion = await call(user, "PUT", `/room_keys/version/${version}`, { algorithm: ALGORITHM, auth_data: { public_key: "new" }, version: "7" });
    expect(wrongVersion.status).toBe(400);
    expect(wrongVersion.body.errcode).toBe("M_INVALID_PARAM");
    expect((await call(user, "GET", `/room_keys/version/${version}`)).body.auth_data).toEqual({ public_key: "old", signatures: {} });

    const ok = await call(user, "PUT", `/room_keys/version/${version}`, { algorithm: ALGORITHM, auth_data: { public_key: "new" }, version });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({});
    const info = (await call(user, "GET", `/room_keys/version/${version}`)).body;
    expect(info.auth_data).toEqual({ public_key: "new" });
    expect(info.algorithm).toBe(ALGORITHM);

    const unknown = await call(user, "PUT", "/room_keys/version/99", { algorithm: ALGORITHM, auth_data: {} });
    expect(unknown.status).toBe(404);
    expect(unknown.body.errcode).toBe("M_NOT_FOUND");
  });

  test("deleted versions answer 404, deleting again succeeds, an unknown version is 404", async () => {
    const user = await server.register("backup-deleted");
    const version = await createVersion(user);
    expect((await putKey(user, version, "s1", key(0, 0, false))).status).toBe(200);
    expect((await call(user, "DELETE", `/room_keys/version/${version}`)).body).toEqual({});

    for (const [method, path, body] of [
      ["GET", `/room_keys/version/${version}`, undefined],
      ["PUT", `/room_keys/version/${version}`, { algorithm: ALGORITHM, auth_data: {} }],
      ["GET", `/room_keys/keys?version=${version}`, undefined],
      ["GET", `/room_keys/keys/${room}?version=${version}`, undefined],
      ["GET", `/room_keys/keys/${room}/s1?version=${version}`, undefined],
      ["PUT", `/room_keys/keys/${room}/s1?version=${version}`, key(0, 0, true)],
      ["DELETE", `/room_keys/keys?version=${version}`, undefined],
    ] as const) {
      const response = await call(user, method, path, body);
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.body.errcode).toBe("M_NOT_FOUND");
    }
    expect((await call(user, "GET", "/room_keys/version")).status).toBe(404);
    expect((await call(user, "DELETE", `/room_keys/version/${version}`)).status).toBe(200);
    for (const unknown of ["42", "abc", "01", "-1"]) {
      const response = await call(user, "DELETE", `/room_keys/version/${unknown}`);
      expect(response.status).toBe(404);
      expect(response.body.errcode).toBe("M_NOT_FOUND");
      expect((await call(user, "GET", `/room_keys/version/${unknown}`)).status).toBe(404);
    }
  });

  test("another user's backups are invisible and untouchable", async () => {
    const alice = await server.register("backup-alice");
    const bob = await server.register("backup-bob");
    const version = await createVersion(alice, "alice-key");
    await putKey(alice, version, "secret", key(0, 0, true, "alice-data"));

    expect((await call(bob, "GET", "/room_keys/version")).status).toBe(404);
    expect((await call(bob, "GET", `/room_keys/version/${version}`)).status).toBe(404);
    expect((await call(bob, "GET", `/room_keys/keys?version=${version}`)).status).toBe(404);
    expect((await getKey(bob, version, "secret")).status).toBe(404);
    expect((await putKey(bob, version, "secret", key(0, 0, true, "bob-data"))).status).toBe(404);
    expect((await call(bob, "DELETE", `/room_keys/keys?version=${version}`)).status).toBe(404);
    expect((await call(bob, "PUT", `/room_keys/version/${version}`, { algorithm: ALGORITHM, auth_data: { public_key: "bob" } })).status).toBe(404);
    expect((await call(bob, "DELETE", `/room_keys/version/${version}`)).status).toBe(404);

    // Bob's own first backup is his version "1", separate from Alice's.
    expect(await createVersion(bob, "bob-key")).toBe("1");
    expect((await call(bob, "GET", `/room_keys/keys?version=1`)).body).toEqual({ rooms: {} });

    const alicesKey = await getKey(alice, version, "secret");
    expect(alicesKey.body.session_data.ciphertext).toBe("alice-data");
    expect((await call(alice, "GET", "/room_keys/version")).body).toMatchObject({ version, count: 1, auth_data: { public_key: "alice-key" } });
  });

  test("deactivating the account deletes its backups and keys", async () => {
    const user = await server.register("backup-deactivate");
    const version = await createVersion(user);
    await putKey(user, version, "s", key(0, 0, true));
    const auth = { type: "m.login.password", identifier: { type: "m.id.user", user: user.user_id }, password: "correct horse battery staple" };
    expect((await call(user, "POST", "/account/deactivate", { auth })).status).toBe(200);
    expect(server.hs.store.backup.currentVersion(user.user_id)).toBeUndefined();
    expect(server.hs.store.backup.sessions(user.user_id, Number(version))).toEqual([]);
  });

  test("needs an access token", async () => {
    const response = await server.request("GET", `${v3}/room_keys/version`);
    expect(response.status).toBe(401);
    expect(response.body.errcode).toBe("M_MISSING_TOKEN");
  });
});

describe("backed-up keys", () => {
  test("the three upload shapes, reads at each level, count and etag", async () => {
    const user = await server.register("backup-keys");
    const version = await createVersion(user);
    const before = (await call(user, "GET", "/room_keys/version")).body.etag;

    const all = await call(user, "PUT", `/room_keys/keys?version=${version}`, {
      rooms: { [ROOM]: { sessions: { a: key(0, 0, false), b: key(1, 0, true) } }, "!other:localhost": { sessions: { c: key(2, 1, false) } } },
    });
    expect(all.status).toBe(200);
    expect(all.body.count).toBe(3);
    expect(all.body.etag).not.toBe(before);

    const byRoom = await call(user, "PUT", `/room_keys/keys/${room}?version=${version}`, { sessions: { d: key(0, 0, false) } });
    expect(byRoom.body.count).toBe(4);
    expect(byRoom.body.etag).not.toBe(all.body.etag);

    const bySession = await putKey(user, version, "e", key(0, 0, false));
    expect(bySession.body.count).toBe(5);

    const info = (await call(user, "GET", "/room_keys/version")).body;
    expect(info.count).toBe(5);
    expect(info.etag).toBe(bySession.body.etag);

    const everything = (await call(user, "GET", `/room_keys/keys?version=${version}`)).body;
    expect(Object.keys(everything.rooms).sort()).toEqual(["!other:localhost", ROOM]);
    expect(Object.keys(everything.rooms[ROOM].sessions).sort()).toEqual(["a", "b", "d", "e"]);
    expect(everything.rooms[ROOM].sessions.b).toEqual(key(1, 0, true));
    expect((await call(user, "GET", `/room_keys/keys/${room}?version=${version}`)).body.sessions.a).toEqual(key(0, 0, false));
    expect((await getKey(user, version, "c")).status).toBe(404);
    expect((await call(user, "GET", `/room_keys/keys/${encodeURIComponent("!other:localhost")}/c?version=${version}`)).body).toEqual(key(2, 1, false));
    expect((await call(user, "GET", `/room_keys/keys/${encodeURIComponent("!empty:localhost")}?version=${version}`)).body).toEqual({ sessions: {} });
    const missing = await getKey(user, version, "nope");
    expect(missing.status).toBe(404);
    expect(missing.body.errcode).toBe("M_NOT_FOUND");
  });

  test("an upload that changes nothing keeps the etag", async () => {
    const user = await server.register("backup-same");
    const version = await createVersion(user);
    const first = await putKey(user, version, "s", key(3, 1, true));
    const again = await putKey(user, version, "s", key(3, 1, true, "other ciphertext"));
    expect(again.body).toEqual(first.body);
    expect((await getKey(user, version, "s")).body.session_data.ciphertext).toBe("data");
    const empty = await call(user, "PUT", `/room_keys/keys?version=${version}`, { rooms: {} });
    expect(empty.body).toEqual(first.body);
  });

  describe("replacement rules: is_verified, then first_message_index, then forwarded_count", () => {
    const cases: [string, ReturnType<typeof key>, ReturnType<typeof key>, "new" | "old"][] = [
      ["verified beats unverified even with a higher index and count", key(0, 0, false), key(9, 9, true), "new"],
      ["unverified never replaces verified, even with a lower index", key(9, 9, true), key(0, 0, false), "old"],
      ["same verification: the lower first_message_index wins", key(5, 0, false), key(2, 7, false), "new"],
      ["same verification: a higher first_message_index loses despite a lower count", key(2, 7, true), key(5, 0, true), "old"],
      ["same verification and index: the lower forwarded_count wins", key(4, 3, true), key(4, 1, true), "new"],
      ["same verification and index: a higher forwarded_count loses", key(4, 1, false), key(4, 3, false), "old"],
      ["identical metadata keeps the stored key", key(4, 1, false), key(4, 1, false), "old"],
    ];
    for (const [name, stored, uploaded, kept] of cases) {
      test(name, async () => {
        const user = await server.register(`backup-rule-${cases.findIndex((c) => c[0] === name)}`);
        const version = await createVersion(user);
        const first = await putKey(user, version, "s", { ...stored, session_data: { ciphertext: "old" } });
        const second = await putKey(user, version, "s", { ...uploaded, session_data: { ciphertext: "new" } });
        expect(second.status).toBe(200);
        expect(second.body.count).toBe(1);
        const now = (await getKey(user, version, "s")).body;
        expect(now).toEqual({ ...(kept === "new" ? uploaded : stored), session_data: { ciphertext: kept } });
        // The etag moves exactly when the stored key changed.
        if (kept === "new") expect(second.body.etag).not.toBe(first.body.etag);
        else expect(second.body.etag).toBe(first.body.etag);
      });
    }
  });

  test("uploading to a version that is not the current one: 403 M_WRONG_ROOM_KEYS_VERSION with current_version", async () => {
    const user = await server.register("backup-wrong");
    const old = await createVersion(user);
    const current = await createVersion(user);
    for (const [path, body] of [
      [`/room_keys/keys?version=${old}`, { rooms: { [ROOM]: { sessions: { s: key(0, 0, true) } } } }],
      [`/room_keys/keys/${room}?version=${old}`, { sessions: { s: key(0, 0, true) } }],
      [`/room_keys/keys/${room}/s?version=${old}`, key(0, 0, true)],
    ] as const) {
      const response = await call(user, "PUT", path, body);
      expect(response.status).toBe(403);
      expect(response.body).toEqual({ errcode: "M_WRONG_ROOM_KEYS_VERSION", error: "Wrong backup version.", current_version: current });
    }
    expect((await call(user, "GET", `/room_keys/version/${old}`)).body.count).toBe(0);
    // Reading an older live version is allowed.
    expect((await call(user, "GET", `/room_keys/keys?version=${old}`)).body).toEqual({ rooms: {} });
    const unknown = await putKey(user, "77", "s", key(0, 0, true));
    expect(unknown.status).toBe(404);
    const noBackup = await server.register("backup-wrong-none");
    expect((await putKey(noBackup, "1", "s", key(0, 0, true))).status).toBe(404);
  });

  test("deleting keys by session, room and all; the etag moves only when something went", async () => {
    const user = await server.register("backup-delete");
    const version = await createVersion(user);
    const other = encodeURIComponent("!other:localhost");
    let last = await call(user, "PUT", `/room_keys/keys?version=${version}`, {
      rooms: { [ROOM]: { sessions: { a: key(0, 0, false), b: key(0, 0, false) } }, "!other:localhost": { sessions: { c: key(0, 0, false), d: key(0, 0, false) } } },
    });
    expect(last.body.count).toBe(4);

    const one = await call(user, "DELETE", `/room_keys/keys/${room}/a?version=${version}`);
    expect(one.body.count).toBe(3);
    expect(one.body.etag).not.toBe(last.body.etag);
    const nothing = await call(user, "DELETE", `/room_keys/keys/${room}/a?version=${version}`);
    expect(nothing.status).toBe(200);
    expect(nothing.body).toEqual(one.body);

    const byRoom = await call(user, "DELETE", `/room_keys/keys/${other}?version=${version}`);
    expect(byRoom.body.count).toBe(1);
    expect(byRoom.body.etag).not.toBe(one.body.etag);
    expect((await call(user, "GET", `/room_keys/keys/${other}?version=${version}`)).body).toEqual({ sessions: {} });

    const all = await call(user, "DELETE", `/room_keys/keys?version=${version}`);
    expect(all.body.count).toBe(0);
    expect(all.body.etag).not.toBe(byRoom.body.etag);
    expect((await call(user, "GET", `/room_keys/keys?version=${version}`)).body).toEqual({ rooms: {} });
    last = await call(user, "GET", "/room_keys/version");
    expect(last.body).toMatchObject({ count: 0, etag: all.body.etag });
  });

  test("deleting a version deletes its keys", async () => {
    const user = await server.register("backup-delete-version");
    const first = await createVersion(user);
    await putKey(user, first, "s", key(0, 0, true));
    const second = await createVersion(user);
    await putKey(user, second, "s", key(0, 0, true));
    await call(user, "DELETE", `/room_keys/version/${second}`);
    // The older backup is current again and still has its own key.
    expect((await call(user, "GET", "/room_keys/version")).body).toMatchObject({ version: first, count: 1 });
    expect((await getKey(user, first, "s")).status).toBe(200);
  });

  test("bad input answers a Matrix error and stores nothing", async () => {
    const user = await server.register("backup-bad");
    const version = await createVersion(user);
    const seed = await putKey(user, version, "kept", key(5, 5, false));
    const bad: [string, string, unknown][] = [
      ["PUT", `/room_keys/keys/${room}/s`, key(0, 0, true)], // no version
      ["PUT", `/room_keys/keys/${room}/s?version=${version}`, { ...key(0, 0, true), is_verified: "yes" }],
      ["PUT", `/room_keys/keys/${room}/s?version=${version}`, { first_message_index: 0, forwarded_count: 0, session_data: {} }],
      ["PUT", `/room_keys/keys/${room}/s?version=${version}`, { ...key(0, 0, true), first_message_index: -1 }],
      ["PUT", `/room_keys/keys/${room}/s?version=${version}`, { ...key(0, 0, true), forwarded_count: 1.5 }],
      ["PUT", `/room_keys/keys/${room}/s?version=${version}`, { ...key(0, 0, true), session_data: "opaque" }],
      ["PUT", `/room_keys/keys/${room}/kept?version=${version}`, { ...key(0, 0, true), session_data: [1, 2] }],
      ["PUT", `/room_keys/keys/${room}?version=${version}`, { sessions: [key(0, 0, true)] }],
      ["PUT", `/room_keys/keys/${room}?version=${version}`, {}],
      ["PUT", `/room_keys/keys?version=${version}`, { rooms: { [ROOM]: { sessions: { s: key(0, 0, true) } }, "not-a-room": { sessions: { t: key(0, 0, true) } } } }],
      ["PUT", `/room_keys/keys?version=${version}`, { rooms: { [ROOM]: { sessions: { s: key(0, 0, true), t: { ...key(0, 0, true), is_verified: 1 } } } } }],
      ["PUT", `/room_keys/keys?version=${version}`, {}],
      ["GET", `/room_keys/keys`, undefined],
      ["DELETE", `/room_keys/keys/${room}`, undefined],
    ];
    for (const [method, path, body] of bad) {
      const response = await call(user, method, path, body);
      expect(response.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(response.body.errcode).toMatch(/^M_(BAD_JSON|MISSING_PARAM|INVALID_PARAM)$/);
    }
    const missingVersion = await call(user, "GET", "/room_keys/keys");
    expect(missingVersion.body.errcode).toBe("M_MISSING_PARAM");
    const notJson = await server.request("PUT", `${v3}/room_keys/keys/${room}/s?version=${version}`, { token: user.access_token, body: "[not json" });
    expect(notJson.status).toBe(400);
    expect(notJson.body.errcode).toBe("M_NOT_JSON");

    const state = (await call(user, "GET", "/room_keys/version")).body;
    expect(state).toMatchObject({ count: 1, etag: seed.body.etag });
    expect((await call(user, "GET", `/room_keys/keys?version=${version}`)).body).toEqual({ rooms: { [ROOM]: { sessions: { kept: key(5, 5, false) } } } });
  });

  test("session ids are base64 with '/' and '+': percent-encoded in the path, stored as sent", async () => {
    const user = await server.register("backup-base64");
    const version = await createVersion(user);
    const sessionId = "ab/cd+ef/GH";
    const put = await putKey(user, version, encodeURIComponent(sessionId), key(0, 0, true));
    expect(put.status).toBe(200);
    expect((await getKey(user, version, encodeURIComponent(sessionId))).body).toEqual(key(0, 0, true));
    const all = (await call(user, "GET", `/room_keys/keys?version=${version}`)).body;
    expect(Object.keys(all.rooms[ROOM].sessions)).toEqual([sessionId]);
    const deleted = await call(user, "DELETE", `/room_keys/keys/${room}/${encodeURIComponent(sessionId)}?version=${version}`);
    expect(deleted.body.count).toBe(0);
  });

  test("client-chosen ids such as __proto__ are stored and returned as ordinary members", async () => {
    const user = await server.register("backup-proto");
    const version = await createVersion(user);
    expect((await putKey(user, version, "__proto__", key(0, 0, true))).status).toBe(200);
    const all = (await call(user, "GET", `/room_keys/keys?version=${version}`)).body;
    expect(Object.keys(all.rooms[ROOM].sessions)).toEqual(["__proto__"]);
    expect((await call(user, "GET", `/room_keys/keys/__proto__?version=${version}`)).body).toEqual({ sessions: {} });
    expect((await call(user, "PUT", `/room_keys/keys/__proto__/s?version=${version}`, key(0, 0, true))).status).toBe(400);
  });
});
