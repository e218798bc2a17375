// Cross-signing, secret storage and server-side key backup with a real client
// (matrix-js-sdk with its Rust crypto): a user sets them up on one device, logs
// in on a new device, restores the room keys from the backup and reads messages
// sent before that device existed.
//
// What it exercises on the server: POST /keys/device_signing/upload (with
// user-interactive auth when keys change) and /keys/signatures/upload;
// /keys/query with master, self-signing and user-signing keys and the uploaded
// signatures; device_lists.changed naming a user whose cross-signing keys
// changed; and the /room_keys/version and /room_keys/keys endpoints (session
// ids contain "/" and "+", which arrive percent-encoded).
import { expect, test } from "bun:test";
import { Preset } from "matrix-js-sdk";
import type { CryptoCallbacks, GeneratedSecretStorageKey } from "matrix-js-sdk/lib/crypto-api";
import {
  type CryptoClient,
  decryptedBody,
  describeFailures,
  login,
  register,
  startCryptoClient,
  e2eSuite,
  waitFor,
  withPasswordAuth,
} from "./harness";

const suite = e2eSuite();
const clients = suite.clients;

/**
 * What a user who keeps their recovery key would type in: every device of the
 * user answers the SDK's requests for the secret storage key with it.
 */
function recoveryKeyHolder() {
  let key: { id: string; privateKey: Uint8Array<ArrayBuffer> } | undefined;
  const callbacks: CryptoCallbacks = {
    getSecretStorageKey: async ({ keys }) => (key && key.id in keys ? [key.id, key.privateKey] : null),
    cacheSecretStorageKey: (id, _info, privateKey) => {
      key = { id, privateKey };
    },
  };
  return { callbacks };
}

/** GET /room_keys/keys/{roomId}/{sessionId}: whether the backup holds that Megolm session. */
async function backupHolds(account: { accessToken: string }, version: string, roomId: string, sessionId: string): Promise<boolean> {
  const url = `${suite.server.baseUrl}/_matrix/client/v3/room_keys/keys/${encodeURIComponent(roomId)}/${encodeURIComponent(sessionId)}?version=${encodeURIComponent(version)}`;
  const response = await fetch(url, { headers: { authorization: `Bearer ${account.accessToken}` }, signal: AbortSignal.timeout(10_000) });
  return response.status === 200;
}

test(
  "cross-signing and key backup set up on one device let a new device read older encrypted messages",
  async () => {
    const recovery = recoveryKeyHolder();
    const alice = await startCryptoClient(suite.server, await register(suite.server, "alice"), recovery.callbacks);
    clients.push(alice);
    const bob = await startCryptoClient(suite.server, await register(suite.server, "bob"));
    clients.push(bob);
    try {
      const { room_id: roomId } = await alice.client.createRoom({
        preset: Preset.PrivateChat,
        invite: [bob.account.userId],
        initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
      });
      await waitFor("bob's invite", () => bob.client.getRoom(roomId)?.getMyMembership() === "invite");
      await bob.client.joinRoom(roomId);
      await waitFor("alice to see bob joined", () => alice.client.getRoom(roomId)?.getMember(bob.account.userId)?.membership === "join");

      // Messages from before the new device exists: one from bob, one of alice's own.
      const fromBob = await bob.client.sendTextMessage(roomId, "an older message from bob");
      expect(await decryptedBody(alice.client, roomId, fromBob.event_id)).toBe("an older message from bob");
      const fromAlice = await alice.client.sendTextMessage(roomId, "an older message from alice");
      expect(await decryptedBody(bob.client, roomId, fromAlice.event_id)).toBe("an older message from alice");
      const sessionOf = (eventId: string) => alice.client.getRoom(roomId)!.findEventById(eventId)!.getWireContent().session_id as string;
      const sessions = [sessionOf(fromBob.event_id), sessionOf(fromAlice.event_id)];

      // Cross-signing: POST /keys/device_signing/upload (with the password if the
      // server asks for user-interactive auth), then
      // POST /keys/signatures/upload for the device's self-signature.
      const crypto = alice.client.getCrypto()!;
      await crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys: (makeRequest) => withPasswordAuth("alice", makeRequest) });
      expect(await crypto.isCrossSigningReady()).toBe(true);

      // Secret storage (account data) holding the cross-signing keys and the
      // key of a new backup version: POST /room_keys/version, then the room keys
      // go up with PUT /room_keys/keys.
      // Bob's client hears of alice's new cross-signing keys (device_lists.changed
      // must name a user whose cross-signing keys changed), queries them, and sees
      // her device signed by her self-signing key.
      await waitFor(
        "bob to see alice's device signed by her cross-signing identity",
        async () => (await bob.client.getCrypto()!.getDeviceVerificationStatus(alice.account.userId, alice.account.deviceId))?.signedByOwner,
        20_000,
      );

      const recoveryKey: GeneratedSecretStorageKey = await crypto.createRecoveryKeyFromPassphrase();
      await crypto.bootstrapSecretStorage({ createSecretStorageKey: async () => recoveryKey, setupNewKeyBackup: true });
      expect(await crypto.isSecretStorageReady()).toBe(true);
      const version = await waitFor("an active key backup", () => crypto.getActiveSessionBackupVersion(), 20_000);
      for (const sessionId of sessions) {
        await waitFor(`session ${sessionId} in backup version ${version}`, () => backupHolds(alice.account, version, roomId, sessionId), 20_000);
      }

      // A new device of alice's, which has never seen the room keys.
      const newDevice = await startCryptoClient(suite.server, await login(suite.server, "alice", "alice's new device"), recovery.callbacks);
      clients.push(newDevice);
      const newCrypto = newDevice.client.getCrypto()!;
      await waitFor("the new device to be in the room", () => newDevice.client.getRoom(roomId)?.getMyMembership() === "join");

      // /keys/query now carries alice's master and self-signing keys, and her
      // first device's keys carry the self-signing key's signature.
      const firstDevice = await waitFor(
        "alice's first device to show as signed by her cross-signing identity",
        async () => {
          const status = await newCrypto.getDeviceVerificationStatus(alice.account.userId, alice.account.deviceId);
          return status?.signedByOwner ? status : undefined;
        },
        20_000,
      );
      expect(firstDevice.signedByOwner).toBe(true);

      // The backup key, from secret storage with the recovery key, then the whole backup.
      await newCrypto.loadSessionBackupPrivateKeyFromSecretStorage();
      const restored = await newCrypto.restoreKeyBackup();
      expect(restored.imported).toBeGreaterThanOrEqual(sessions.length);

      expect(await decryptedBody(newDevice.client, roomId, fromBob.event_id)).toBe("an older message from bob");
      expect(await decryptedBody(newDevice.client, roomId, fromAlice.event_id)).toBe("an older message from alice");
    } catch (error) {
      const failures = describeFailures(...clients);
      const serverLog = suite.server.log.slice(-3000);
      throw new Error(
        `${(error as Error).message}${failures ? `\nrequests the server refused:\n${failures}` : ""}${serverLog ? `\nserver log (end):\n${serverLog}` : ""}`,
      );
    }
  },
  90_000,
);
