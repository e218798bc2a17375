// Two real clients (matrix-js-sdk with its Rust crypto) chat in an encrypted
// room: device keys, one-time key claims, to-device Olm messages carrying the
// Megolm room keys, and device-list tracking all have to work for each side to
// read the other. Then a second device comes and goes, and the server restarts
// while a room key waits for a device that is offline.
import { expect, test } from "bun:test";
import { Preset } from "matrix-js-sdk";
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

/** The device ids the client's crypto stack knows for a user. */
async function devicesOf(viewer: CryptoClient, userId: string): Promise<Set<string>> {
  const devices = (await viewer.client.getCrypto()!.getUserDeviceInfo([userId])).get(userId);
  return new Set(devices?.keys() ?? []);
}

test(
  "two Rust-crypto clients exchange messages in an encrypted room and decrypt each other's",
  async () => {
    const alice = await startCryptoClient(suite.server, await register(suite.server, "alice"));
    clients.push(alice);
    const bob = await startCryptoClient(suite.server, await register(suite.server, "bob"));
    clients.push(bob);
    try {
      const { room_id: roomId } = await alice.client.createRoom({
        preset: Preset.PrivateChat,
        invite: [bob.account.userId],
        initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
      });
      await waitFor("alice to see the room as encrypted", () => alice.client.getRoom(roomId)?.hasEncryptionStateEvent());
      await waitFor("bob's invite", () => bob.client.getRoom(roomId)?.getMyMembership() === "invite");
      // Sent while bob is only invited: the history visibility (shared) lets
      // alice's client share the key with invited members' devices too.
      const beforeJoin = await alice.client.sendTextMessage(roomId, "sent before bob joined");
      await bob.client.joinRoom(roomId);
      await waitFor("alice to see bob joined", () => alice.client.getRoom(roomId)?.getMember(bob.account.userId)?.membership === "join");
      expect(await decryptedBody(bob.client, roomId, beforeJoin.event_id)).toBe("sent before bob joined");

      const hello = await alice.client.sendTextMessage(roomId, "hello bob, this is secret");
      expect(await decryptedBody(bob.client, roomId, hello.event_id)).toBe("hello bob, this is secret");

      const reply = await bob.client.sendTextMessage(roomId, "hi alice, read you loud and clear");
      expect(await decryptedBody(alice.client, roomId, reply.event_id)).toBe("hi alice, read you loud and clear");

      // A second message each way: the sessions are reused, not only set up.
      const again = await alice.client.sendTextMessage(roomId, "second message");
      const againReply = await bob.client.sendTextMessage(roomId, "second reply");
      expect(await decryptedBody(bob.client, roomId, again.event_id)).toBe("second message");
      expect(await decryptedBody(alice.client, roomId, againReply.event_id)).toBe("second reply");

      // Bob logs in on a second device. Alice learns of it only through
      // device_lists.changed in her /sync, and must share the room key with it too.
      const bobPhone = await startCryptoClient(suite.server, await login(suite.server, "bob", "bob's phone"));
      clients.push(bobPhone);
      await waitFor("bob's phone to be in the room", () => bobPhone.client.getRoom(roomId)?.getMyMembership() === "join");
      await waitFor("alice to see bob's second device", async () => (await devicesOf(alice, bob.account.userId)).has(bobPhone.account.deviceId));
      const toBoth = await alice.client.sendTextMessage(roomId, "for both of bob's devices");
      expect(await decryptedBody(bobPhone.client, roomId, toBoth.event_id)).toBe("for both of bob's devices");
      expect(await decryptedBody(bob.client, roomId, toBoth.event_id)).toBe("for both of bob's devices");
      const fromPhone = await bobPhone.client.sendTextMessage(roomId, "sent from the phone");
      expect(await decryptedBody(alice.client, roomId, fromPhone.event_id)).toBe("sent from the phone");
      expect(await decryptedBody(bob.client, roomId, fromPhone.event_id)).toBe("sent from the phone");

      // Bob's first device hears of his own new device the same way, and shares its keys with it.
      await waitFor("bob's first device to see his phone", async () => (await devicesOf(bob, bob.account.userId)).has(bobPhone.account.deviceId));
      const fromLaptop = await bob.client.sendTextMessage(roomId, "sent from the laptop");
      expect(await decryptedBody(bobPhone.client, roomId, fromLaptop.event_id)).toBe("sent from the laptop");

      // Bob deletes the phone: /keys/query stops listing it, alice's client drops
      // it, and her messages still reach bob's remaining device.
      bobPhone.stop();
      await withPasswordAuth("bob", (auth) => bob.client.deleteDevice(bobPhone.account.deviceId, auth ?? undefined));
      await waitFor("alice to forget bob's deleted phone", async () => !(await devicesOf(alice, bob.account.userId)).has(bobPhone.account.deviceId));
      const afterDelete = await alice.client.sendTextMessage(roomId, "after the phone was deleted");
      expect(await decryptedBody(bob.client, roomId, afterDelete.event_id)).toBe("after the phone was deleted");

      // Server restarts. Bob's device goes "offline" (its /sync requests are held)
      // and the restart answers its pending long-poll. Alice starts a new Megolm
      // session, so its key goes to bob as a to-device message that waits in the
      // database across a second restart; bob then syncs with a token from the
      // first server process and must get both the key and the message.
      bob.syncGate.pause();
      await suite.server.restart();
      await alice.client.getCrypto()!.forceDiscardSession(roomId);
      const whileAway = await alice.client.sendTextMessage(roomId, "sent while bob was away");
      await suite.server.restart();
      const syncsBefore = bob.syncGate.completed;
      bob.syncGate.resume();
      expect(await decryptedBody(bob.client, roomId, whileAway.event_id, 30_000)).toBe("sent while bob was away");
      expect(bob.syncGate.completed).toBeGreaterThan(syncsBefore);
      const afterRestart = await bob.client.sendTextMessage(roomId, "back again");
      expect(await decryptedBody(alice.client, roomId, afterRestart.event_id, 30_000)).toBe("back again");
      if (process.env.E2E_DEBUG) console.log(describeFailures(...clients));
    } catch (error) {
      const failures = describeFailures(...clients);
      const serverLog = suite.server.log.slice(-3000);
      throw new Error(
        `${(error as Error).message}${failures ? `\nrequests the server refused:\n${failures}` : ""}${serverLog ? `\nserver log (end):\n${serverLog}` : ""}`,
      );
    }
  },
  120_000,
);
