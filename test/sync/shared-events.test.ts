// Events in sync format built once for every reader woken by one commit
// (toSyncEvent in src/rooms/client-format.ts), and what stays per reader.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { toSyncEvent } from "../../src/rooms/client-format";
import { loadEvent } from "../../src/rooms/room-state";
import { createRoom, CLIENT, joinRoom, newTxnId, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";
import { sync } from "../helpers/sync";

let server: TestServer;
let alice: User;
let bob: User;
let carol: User;
let roomId: string;

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.register("shared-alice");
  bob = await server.register("shared-bob");
  carol = await server.register("shared-carol");
  roomId = await createRoom(server, alice, { preset: "public_chat" });
  await joinRoom(server, bob, roomId);
  await joinRoom(server, carol, roomId);
});
afterAll(() => server.stop());

async function send(user: User, body: string, txnId = newTxnId()): Promise<string> {
  const response = await server.request("PUT", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txnId}`, {
    token: user.access_token,
    body: { msgtype: "m.text", body },
  });
  expect(response.status).toBe(200);
  return response.body.event_id as string;
}

describe("events shared between the readers of one commit", () => {
  test("readers other than the sender get one object, without room_id or transaction_id", async () => {
    const eventId = await send(alice, "for everyone");
    const event = loadEvent(server.hs, eventId)!;
    const forBob = toSyncEvent(server.hs, event, { userId: bob.user_id, deviceId: bob.device_id });
    const forCarol = toSyncEvent(server.hs, event, { userId: carol.user_id, deviceId: carol.device_id });
    expect(forCarol).toBe(forBob);
    expect(forBob.room_id).toBeUndefined();
    expect(forBob.unsigned.transaction_id).toBeUndefined();
    expect(forBob.content).toEqual({ msgtype: "m.text", body: "for everyone" });
  });

  test("the sender's own copy carries their transaction_id and is not handed to others", async () => {
    const txnId = newTxnId();
    const eventId = await send(alice, "mine", txnId);
    const event = loadEvent(server.hs, eventId)!;
    const forBob = toSyncEvent(server.hs, event, { userId: bob.user_id, deviceId: bob.device_id });
    const forAlice = toSyncEvent(server.hs, event, { userId: alice.user_id, deviceId: alice.device_id });
    expect(forAlice).not.toBe(forBob);
    expect(forAlice.unsigned.transaction_id).toBe(txnId);
    expect(forBob.unsigned.transaction_id).toBeUndefined();
    // Built again afterwards, the shared copy still has no transaction_id.
    expect(toSyncEvent(server.hs, event, { userId: carol.user_id, deviceId: carol.device_id }).unsigned.transaction_id).toBeUndefined();
  });

  test("a shared copy is rebuilt once it is older than the sharing window, so age stays current", async () => {
    const eventId = await send(alice, "aging");
    const event = loadEvent(server.hs, eventId)!;
    const first = toSyncEvent(server.hs, event, { userId: bob.user_id });
    await Bun.sleep(80);
    const later = toSyncEvent(server.hs, event, { userId: carol.user_id });
    expect(later).not.toBe(first);
    expect(later.unsigned.age as number).toBeGreaterThanOrEqual((first.unsigned.age as number) + 50);
  });

  test("a redacted event is built per reader, with the redaction it was redacted by", async () => {
    const eventId = await send(alice, "to be redacted");
    const before = toSyncEvent(server.hs, loadEvent(server.hs, eventId)!, { userId: bob.user_id });
    expect(before.content.body).toBe("to be redacted");
    const response = await server.request("PUT", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/redact/${encodeURIComponent(eventId)}/${newTxnId()}`, {
      token: alice.access_token,
      body: { reason: "oops" },
    });
    expect(response.status).toBe(200);
    const redacted = loadEvent(server.hs, eventId)!;
    const forBob = toSyncEvent(server.hs, redacted, { userId: bob.user_id });
    expect(forBob).not.toBe(before);
    expect(forBob.content).toEqual({});
    expect((forBob.unsigned.redacted_because as { event_id: string }).event_id).toBe(response.body.event_id);
    expect(toSyncEvent(server.hs, redacted, { userId: carol.user_id })).not.toBe(forBob);
  });

  test("/sync serves the same message to two readers and the sender's transaction_id only to the sender", async () => {
    const txnId = newTxnId();
    const eventId = await send(alice, "through sync", txnId);
    const [forAlice, forBob, forCarol] = await Promise.all(
      [alice, bob, carol].map(async (user) => {
        const response = await sync(server, user, { filter: { room: { timeline: { limit: 5 } } } });
        return (response.rooms.join[roomId].timeline.events as any[]).find((event) => event.event_id === eventId);
      }),
    );
    expect(forAlice.unsigned.transaction_id).toBe(txnId);
    for (const other of [forBob, forCarol]) {
      expect(other.unsigned.transaction_id).toBeUndefined();
      expect(other.room_id).toBeUndefined();
      expect(other.content.body).toBe("through sync");
    }
  });
});
