// Cross-signing (spec: "Cross-signing"; cross_signing.yaml): key upload with
// user-interactive auth, signature upload with verification, and how
// /keys/query serves both.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { canonicalJson } from "../../src/util/canonical-json";
import { startTestServer, type TestServer } from "../helpers/server";

const v3 = "/_matrix/client/v3";
type User = { user_id: string; access_token: string; device_id: string };
type Json = Record<string, any>;
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

interface Ed25519 {
  publicKey: string;
  privateKey: KeyObject;
}

function newKey(): Ed25519 {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(12);
  return { publicKey: raw.toString("base64").replace(/=+$/, ""), privateKey };
}

/** Adds `signer`'s signature under signatures[userId][ed25519:keyName], as clients do. */
function signed<T extends Json>(object: T, userId: string, keyName: string, key: Ed25519): T {
  const { signatures, unsigned: _unsigned, ...rest } = object;
  const signature = sign(null, Buffer.from(canonicalJson(rest)), key.privateKey).toString("base64").replace(/=+$/, "");
  return { ...object, signatures: { ...(signatures ?? {}), [userId]: { ...(signatures?.[userId] ?? {}), [`ed25519:${keyName}`]: signature } } };
}

function crossSigningKey(user: User, usage: string, key: Ed25519, master?: Ed25519): Json {
  const object = { user_id: user.user_id, usage: [usage], keys: { [`ed25519:${key.publicKey}`]: key.publicKey } };
  return master ? signed(object, user.user_id, master.publicKey, master) : object;
}

interface CrossSigningSet {
  master: Ed25519;
  selfSigning: Ed25519;
  userSigning: Ed25519;
  body: Json;
}

function crossSigningSet(user: User): CrossSigningSet {
  const master = newKey();
  const selfSigning = newKey();
  const userSigning = newKey();
  return {
    master,
    selfSigning,
    userSigning,
    body: {
      master_key: crossSigningKey(user, "master", master),
      self_signing_key: crossSigningKey(user, "self_signing", selfSigning, master),
      user_signing_key: crossSigningKey(user, "user_signing", userSigning, master),
    },
  };
}

/** Uploads real device keys for the user's device; returns the object and its ed25519 key. */
async function uploadDeviceKeys(user: User): Promise<{ object: Json; key: Ed25519 }> {
  const key = newKey();
  const object = signed(
    {
      user_id: user.user_id,
      device_id: user.device_id,
      algorithms: ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
      keys: { [`curve25519:${user.device_id}`]: "curve", [`ed25519:${user.device_id}`]: key.publicKey },
    },
    user.user_id,
    user.device_id,
    key,
  );
  const response = await server.request("POST", `${v3}/keys/upload`, { token: user.access_token, body: { device_keys: object } });
  expect(response.status).toBe(200);
  return { object, key };
}

const uploadCrossSigning = (user: User, body: Json) => server.request("POST", `${v3}/keys/device_signing/upload`, { token: user.access_token, body });
const uploadSignatures = (user: User, body: Json) => server.request("POST", `${v3}/keys/signatures/upload`, { token: user.access_token, body });
const query = (user: User, ...userIds: string[]) =>
  server.request("POST", `${v3}/keys/query`, { token: user.access_token, body: { device_keys: Object.fromEntries(userIds.map((id) => [id, []])) } });
const passwordAuth = (user: User, session: string) => ({
  type: "m.login.password",
  identifier: { type: "m.id.user", user: user.user_id },
  password: "correct horse battery staple",
  session,
});

describe("keys/device_signing/upload", () => {
  test("/versions advertises cross-signing", async () => {
    const versions = await server.request("GET", "/_matrix/client/versions");
    expect(versions.body.unstable_features["org.matrix.e2e_cross_signing"]).toBe(true);
  });

  test("a first upload needs no password; others see master and self-signing keys, only the owner the user-signing key", async () => {
    const alice = await server.register("xs-first-alice");
    const bob = await server.register("xs-first-bob");
    const keys = crossSigningSet(alice);
    const response = await uploadCrossSigning(alice, keys.body);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({});

    const own = await query(alice, alice.user_id);
    expect(own.body.master_keys[alice.user_id]).toEqual(keys.body.master_key);
    expect(own.body.self_signing_keys[alice.user_id]).toEqual(keys.body.self_signing_key);
    expect(own.body.user_signing_keys[alice.user_id]).toEqual(keys.body.user_signing_key);

    const seenByBob = await query(bob, alice.user_id);
    expect(seenByBob.body.master_keys[alice.user_id]).toEqual(keys.body.master_key);
    expect(seenByBob.body.self_signing_keys[alice.user_id]).toEqual(keys.body.self_signing_key);
    expect(seenByBob.body.user_signing_keys[alice.user_id]).toBeUndefined();
  });

  test("repeating the stored keys needs no password; replacing them does, then takes effect", async () => {
    const alice = await server.register("xs-replace");
    const first = crossSigningSet(alice);
    expect((await uploadCrossSigning(alice, first.body)).status).toBe(200);
    expect((await uploadCrossSigning(alice, first.body)).status).toBe(200);
    expect((await uploadCrossSigning(alice, { master_key: first.body.master_key })).status).toBe(200);

    const second = crossSigningSet(alice);
    const challenge = await uploadCrossSigning(alice, second.body);
    expect(challenge.status).toBe(401);
    expect(challenge.body.flows).toEqual([{ stages: ["m.login.password"] }]);
    // Nothing changed while the password is outstanding.
    expect((await query(alice, alice.user_id)).body.master_keys[alice.user_id]).toEqual(first.body.master_key);

    const wrong = await uploadCrossSigning(alice, { ...second.body, auth: { ...passwordAuth(alice, challenge.body.session), password: "nope" } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.errcode).toBe("M_FORBIDDEN");

    const done = await uploadCrossSigning(alice, { ...second.body, auth: passwordAuth(alice, challenge.body.session) });
    expect(done.status).toBe(200);
    expect((await query(alice, alice.user_id)).body.master_keys[alice.user_id]).toEqual(second.body.master_key);
  });

  test("is also served under the unstable prefix Element tries first", async () => {
    const erin = await server.register("xs-unstable");
    const keys = crossSigningSet(erin);
    const response = await server.request("POST", "/_matrix/client/unstable/keys/device_signing/upload", { token: erin.access_token, body: keys.body });
    expect(response.status).toBe(200);
    expect((await query(erin, erin.user_id)).body.master_keys[erin.user_id]).toEqual(keys.body.master_key);
    const again = await server.request("POST", "/_matrix/client/unstable/keys/device_signing/upload", { token: erin.access_token, body: crossSigningSet(erin).body });
    expect(again.status).toBe(401);
  });

  test("refuses keys not signed by the master key, of another user, without a master key, or named like a device", async () => {
    const alice = await server.register("xs-refuse");
    const keys = crossSigningSet(alice);
    const stranger = newKey();

    const unsigned = await uploadCrossSigning(alice, { ...keys.body, self_signing_key: crossSigningKey(alice, "self_signing", keys.selfSigning, stranger) });
    expect(unsigned.status).toBe(400);
    expect(unsigned.body.errcode).toBe("M_INVALID_SIGNATURE");

    const noMaster = await uploadCrossSigning(alice, { self_signing_key: keys.body.self_signing_key });
    expect(noMaster.status).toBe(400);
    expect(noMaster.body.errcode).toBe("M_MISSING_PARAM");

    const foreign = await uploadCrossSigning(alice, { master_key: { ...keys.body.master_key, user_id: "@someone:else" } });
    expect(foreign.status).toBe(400);
    expect(foreign.body.errcode).toBe("M_INVALID_PARAM");

    const wrongUsage = await uploadCrossSigning(alice, { master_key: { ...keys.body.master_key, usage: ["self_signing"] } });
    expect(wrongUsage.status).toBe(400);

    const deviceNamed = { user_id: alice.user_id, usage: ["master"], keys: { [`ed25519:${alice.device_id}`]: alice.device_id } };
    const clash = await uploadCrossSigning(alice, { master_key: deviceNamed });
    expect(clash.status).toBe(403);
    expect(clash.body.errcode).toBe("M_FORBIDDEN");

    const stored = await query(alice, alice.user_id);
    expect(stored.body.master_keys[alice.user_id]).toBeUndefined();
    expect(stored.body.self_signing_keys[alice.user_id]).toBeUndefined();
  });

  test("a room-mate sees the new cross-signing keys in device_lists.changed", async () => {
    const alice = await server.register("xs-lists-alice");
    const bob = await server.register("xs-lists-bob");
    const room = await server.request("POST", `${v3}/createRoom`, { token: alice.access_token, body: { preset: "public_chat" } });
    await server.request("POST", `${v3}/rooms/${encodeURIComponent(room.body.room_id)}/join`, { token: bob.access_token, body: {} });
    const since = (await server.request("GET", `${v3}/sync?timeout=0`, { token: bob.access_token })).body.next_batch;
    expect((await uploadCrossSigning(alice, crossSigningSet(alice).body)).status).toBe(200);
    const later = await server.request("GET", `${v3}/sync?timeout=0&since=${since}`, { token: bob.access_token });
    expect(later.body.device_lists?.changed).toContain(alice.user_id);
  });
});

describe("keys/signatures/upload", () => {
  test("the self-signing key signs a device; the signature is served with the device keys", async () => {
    const alice = await server.register("sig-device");
    const bob = await server.register("sig-device-viewer");
    const device = await uploadDeviceKeys(alice);
    const keys = crossSigningSet(alice);
    await uploadCrossSigning(alice, keys.body);

    const signedDevice = signed(device.object, alice.user_id, keys.selfSigning.publicKey, keys.selfSigning);
    const response = await uploadSignatures(alice, { [alice.user_id]: { [alice.device_id]: signedDevice } });
    expect(response.status).toBe(200);
    expect(response.body.failures).toEqual({});

    const served = (await query(bob, alice.user_id)).body.device_keys[alice.user_id][alice.device_id];
    expect(served.signatures[alice.user_id][`ed25519:${keys.selfSigning.publicKey}`]).toBe(signedDevice.signatures[alice.user_id][`ed25519:${keys.selfSigning.publicKey}`]);
    expect(served.signatures[alice.user_id][`ed25519:${alice.device_id}`]).toBe(device.object.signatures[alice.user_id][`ed25519:${alice.device_id}`]);
  });

  test("a device signs its user's master key", async () => {
    const alice = await server.register("sig-master");
    const device = await uploadDeviceKeys(alice);
    const keys = crossSigningSet(alice);
    await uploadCrossSigning(alice, keys.body);
    const signedMaster = signed(keys.body.master_key, alice.user_id, alice.device_id, device.key);
    const response = await uploadSignatures(alice, { [alice.user_id]: { [keys.master.publicKey]: signedMaster } });
    expect(response.body.failures).toEqual({});
    const master = (await query(alice, alice.user_id)).body.master_keys[alice.user_id];
    expect(master.signatures[alice.user_id][`ed25519:${alice.device_id}`]).toBe(signedMaster.signatures[alice.user_id][`ed25519:${alice.device_id}`]);
  });

  test("bad signatures, changed objects and unknown keys are failures and nothing is stored", async () => {
    const alice = await server.register("sig-bad");
    const device = await uploadDeviceKeys(alice);
    const keys = crossSigningSet(alice);
    await uploadCrossSigning(alice, keys.body);

    const forged = signed(device.object, alice.user_id, keys.selfSigning.publicKey, newKey());
    const changed = signed({ ...device.object, algorithms: ["m.megolm.v1.aes-sha2"] }, alice.user_id, keys.selfSigning.publicKey, keys.selfSigning);
    const response = await uploadSignatures(alice, {
      [alice.user_id]: { [alice.device_id]: forged, UNKNOWNDEVICE: forged },
    });
    expect(response.status).toBe(200);
    expect(response.body.failures[alice.user_id][alice.device_id].errcode).toBe("M_INVALID_SIGNATURE");
    expect(response.body.failures[alice.user_id].UNKNOWNDEVICE.errcode).toBe("M_NOT_FOUND");

    const mismatch = await uploadSignatures(alice, { [alice.user_id]: { [alice.device_id]: changed } });
    expect(mismatch.body.failures[alice.user_id][alice.device_id].errcode).toBe("M_INVALID_PARAM");

    const served = (await query(alice, alice.user_id)).body.device_keys[alice.user_id][alice.device_id];
    expect(Object.keys(served.signatures[alice.user_id])).toEqual([`ed25519:${alice.device_id}`]);
  });

  test("a user-signing signature on another user's master key is shown only to the signer", async () => {
    const alice = await server.register("sig-user-alice");
    const bob = await server.register("sig-user-bob");
    const carol = await server.register("sig-user-carol");
    const aliceKeys = crossSigningSet(alice);
    const bobKeys = crossSigningSet(bob);
    await uploadCrossSigning(alice, aliceKeys.body);
    await uploadCrossSigning(bob, bobKeys.body);

    const wrongSigner = signed(bobKeys.body.master_key, alice.user_id, aliceKeys.selfSigning.publicKey, aliceKeys.selfSigning);
    const refused = await uploadSignatures(alice, { [bob.user_id]: { [bobKeys.master.publicKey]: wrongSigner } });
    expect(refused.body.failures[bob.user_id][bobKeys.master.publicKey].errcode).toBe("M_INVALID_SIGNATURE");

    const verified = signed(bobKeys.body.master_key, alice.user_id, aliceKeys.userSigning.publicKey, aliceKeys.userSigning);
    const response = await uploadSignatures(alice, { [bob.user_id]: { [bobKeys.master.publicKey]: verified } });
    expect(response.body.failures).toEqual({});

    const forAlice = (await query(alice, bob.user_id)).body.master_keys[bob.user_id];
    expect(forAlice.signatures[alice.user_id][`ed25519:${aliceKeys.userSigning.publicKey}`]).toBeString();
    const forCarol = (await query(carol, bob.user_id)).body.master_keys[bob.user_id];
    expect(forCarol.signatures?.[alice.user_id]).toBeUndefined();
    expect(forCarol).toEqual(bobKeys.body.master_key);
  });

  test("signing devices before uploading a self-signing key is refused", async () => {
    const dave = await server.register("sig-no-ssk");
    const device = await uploadDeviceKeys(dave);
    const someKey = newKey();
    const response = await uploadSignatures(dave, { [dave.user_id]: { [dave.device_id]: signed(device.object, dave.user_id, someKey.publicKey, someKey) } });
    expect(response.body.failures[dave.user_id][dave.device_id].errcode).toBe("M_MISSING_PARAM");
  });
});
