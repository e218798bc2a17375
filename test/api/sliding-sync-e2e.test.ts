// End to end: two users chat through simplified sliding sync the way
// matrix-rust-sdk (Element X) drives it: an "encryption" connection (to_device +
// e2ee) and a "room-list" connection whose `all_rooms` list starts with [0, 19],
// then grows by batches of 100 with timeout 0 until it covers the count, then
// long-polls; an opened room is a room subscription with a longer timeline.
// One of the users is in 300 rooms.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { CLIENT, createRoom, inviteUser, joinRoom, newTxnId, sendMessage, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";
import { allRoomsList, sliding } from "../helpers/sliding";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

/** What a client keeps of a connection: its pos and the rooms merged from every response. */
class Connection {
  pos?: string;
  rooms = new Map<string, any>();
  counts: Record<string, number> = {};
  toDeviceSince?: string;
  txn = 0;

  constructor(
    readonly user: User,
    readonly body: () => Record<string, unknown>,
  ) {}

  async sync(timeout = 0): Promise<any> {
    const txnId = `${this.body().conn_id}-${++this.txn}`;
    const response = await sliding(server, this.user, { ...this.body(), txn_id: txnId }, { pos: this.pos, timeout });
    expect(response.txn_id).toBe(txnId);
    this.pos = response.pos;
    for (const [name, list] of Object.entries(response.lists ?? {})) this.counts[name] = (list as any).count;
    for (const [roomId, room] of Object.entries(response.rooms ?? {}) as [string, any][]) {
      // "initial: true" replaces what the client had; otherwise fields update and the timeline appends.
      const known = room.initial ? {} : (this.rooms.get(roomId) ?? {});
      const timeline = room.initial || room.limited ? (room.timeline ?? []) : [...(known.timeline ?? []), ...(room.timeline ?? [])];
      this.rooms.set(roomId, { ...known, ...room, timeline });
    }
    const toDevice = response.extensions?.to_device;
    if (toDevice) this.toDeviceSince = toDevice.next_batch;
    return response;
  }

  /** Room ids ordered as matrix-rust-sdk's recency sorter does: by bump_stamp, newest first. */
  ordered(): string[] {
    return [...this.rooms.entries()].sort(([, a], [, b]) => (b.bump_stamp ?? 0) - (a.bump_stamp ?? 0)).map(([id]) => id);
  }
}

/** The two connections Element X opens for one device. */
function elementX(user: User): { roomList: Connection; encryption: Connection; loadAllRooms(): Promise<number>; open(roomId: string): void } {
  let range: [number, number] = [0, 19];
  const subscriptions: Record<string, unknown> = {};
  const roomList = new Connection(user, () => ({
    conn_id: "room-list",
    lists: { all_rooms: allRoomsList(range) },
    room_subscriptions: subscriptions,
    extensions: { account_data: { enabled: true }, receipts: { enabled: true, rooms: ["*"] }, typing: { enabled: true } },
  }));
  const encryption: Connection = new Connection(user, () => ({
    conn_id: "encryption",
    extensions: { to_device: { enabled: true, since: encryption.toDeviceSince }, e2ee: { enabled: true } },
  }));
  return {
    roomList,
    encryption,
    /** Growing mode: batches of 100 until the range covers the list, each with timeout 0. */
    async loadAllRooms(): Promise<number> {
      let requests = 1;
      await roomList.sync();
      while (range[1] + 1 < roomList.counts.all_rooms!) {
        range = [0, Math.min(range[1] + 100, roomList.counts.all_rooms! - 1)];
        await roomList.sync();
        requests++;
      }
      return requests;
    },
    /** Opening a room: a subscription with a longer timeline and the state the room screen needs. */
    open(roomId: string) {
      subscriptions[roomId] = {
        timeline_limit: 20,
        required_state: [["m.room.create", ""], ["m.room.pinned_events", ""], ["m.room.member", "$LAZY"], ["m.room.member", "$ME"]],
      };
    },
  };
}

test("two users chat; one of them is in 300 rooms", async () => {
  const alice = await server.register("e2e-alice");
  const bob = await server.register("e2e-bob");
  const filler = await server.register("e2e-filler");

  // Alice is in 300 rooms: 299 group rooms with a message each, and a DM with Bob.
  // Made a batch at a time (the setup is not what is tested); messages go out in order afterwards.
  const groups: string[] = [];
  for (let start = 0; start < 299; start += 25) {
    const batch = Array.from({ length: Math.min(25, 299 - start) }, async (_, j) => {
      const roomId = await createRoom(server, filler, { name: `Group ${start + j}`, preset: "public_chat" });
      await joinRoom(server, alice, roomId);
      return roomId;
    });
    groups.push(...(await Promise.all(batch)));
  }
  for (let i = 0; i < groups.length; i++) await sendMessage(server, filler, groups[i]!, `hello group ${i}`);
  const dm = await createRoom(server, bob, { is_direct: true, preset: "trusted_private_chat" });
  await inviteUser(server, bob, dm, alice.user_id);
  await server.request("PUT", `${CLIENT}/user/${encodeURIComponent(bob.user_id)}/account_data/m.direct`, { token: bob.access_token, body: { [alice.user_id]: [dm] } });

  const aliceX = elementX(alice);
  const bobX = elementX(bob);

  // Start-up: encryption first, then the room list growing to cover every room.
  await aliceX.encryption.sync();
  const requests = await aliceX.loadAllRooms();
  expect(requests).toBe(4); // [0,19], [0,119], [0,219], [0,299]
  expect(aliceX.roomList.counts.all_rooms).toBe(300);
  expect(aliceX.roomList.rooms.size).toBe(300);
  // The invite is the newest membership: on top, with its stripped state.
  expect(aliceX.roomList.ordered()[0]).toBe(dm);
  expect(aliceX.roomList.rooms.get(dm).membership).toBe("invite");
  expect(aliceX.roomList.rooms.get(dm).invite_state.length).toBeGreaterThan(0);
  // Newest group first, as their messages went.
  expect(aliceX.roomList.ordered().slice(1, 4)).toEqual([groups[298]!, groups[297]!, groups[296]!]);
  const sample = aliceX.roomList.rooms.get(groups[0]!);
  expect(sample.name).toBe("Group 0");
  expect(sample.timeline.map((e: any) => e.content.body)).toEqual(["hello group 0"]);
  expect(sample.required_state.map((e: any) => e.type)).toContain("m.room.create");
  // $LAZY + timeline_limit 1: the sender of the one message, and $ME.
  expect(sample.required_state.filter((e: any) => e.type === "m.room.member").map((e: any) => e.state_key).sort()).toEqual([alice.user_id, filler.user_id].sort());
  expect(aliceX.roomList.pos).toBeString();

  await bobX.encryption.sync();
  await bobX.loadAllRooms();
  expect(bobX.roomList.counts.all_rooms).toBe(1);

  // Alice accepts the invite; her room list turns the invite into a joined room.
  await joinRoom(server, alice, dm);
  await aliceX.roomList.sync();
  expect(aliceX.roomList.rooms.get(dm).membership).toBe("join");
  expect(aliceX.roomList.rooms.get(dm).is_dm).toBeUndefined(); // m.direct is Bob's, not Alice's
  expect(aliceX.roomList.rooms.get(dm).name).toBe("e2e-bob");

  // Both open the DM and long-poll; Bob writes.
  aliceX.open(dm);
  bobX.open(dm);
  await aliceX.roomList.sync();
  await bobX.roomList.sync();
  const aliceWaits = aliceX.roomList.sync(10_000);
  const bobWaits = bobX.roomList.sync(10_000);
  await Bun.sleep(50);
  const hello = await sendMessage(server, bob, dm, "Hi Alice!");
  const [aliceGot] = await Promise.all([aliceWaits, bobWaits]);
  expect(aliceGot.rooms[dm].timeline.map((e: any) => e.event_id)).toEqual([hello]);
  expect(aliceGot.rooms[dm].num_live).toBe(1);
  expect(aliceGot.rooms[dm].notification_count).toBe(1);
  expect(aliceX.roomList.ordered()[0]).toBe(dm);

  // Alice types, reads and answers; Bob sees each through his room list.
  const typingStarted = server.request("PUT", `${CLIENT}/rooms/${encodeURIComponent(dm)}/typing/${encodeURIComponent(alice.user_id)}`, { token: alice.access_token, body: { typing: true, timeout: 10000 } });
  const bobSeesTyping = await (async () => {
    await typingStarted;
    return bobX.roomList.sync(10_000);
  })();
  expect(bobSeesTyping.extensions.typing.rooms[dm].content.user_ids).toEqual([alice.user_id]);

  await server.request("POST", `${CLIENT}/rooms/${encodeURIComponent(dm)}/receipt/m.read/${encodeURIComponent(hello)}`, { token: alice.access_token, body: {} });
  const reply = await sendMessage(server, alice, dm, "Hi Bob!");
  const bobGot = await bobX.roomList.sync(10_000);
  const bobRoom = bobGot.rooms[dm];
  expect(bobRoom.timeline.map((e: any) => e.event_id)).toContain(reply);
  expect(bobGot.extensions.receipts.rooms[dm].content[hello]["m.read"][alice.user_id]).toBeDefined();
  expect(bobX.roomList.rooms.get(dm).timeline.map((e: any) => e.content.body)).toContain("Hi Bob!");

  // Alice's own answer arrives with her transaction id; her count went back to 0.
  const aliceAfter = await aliceX.roomList.sync(10_000);
  const own = aliceAfter.rooms[dm].timeline.find((e: any) => e.event_id === reply);
  expect(own.unsigned.transaction_id).toBeString();
  expect(aliceX.roomList.rooms.get(dm).notification_count).toBe(0);

  // Meanwhile a group gets a message: it moves up to second place in Alice's list.
  const news = await sendMessage(server, filler, groups[5]!, "news in group 5");
  const aliceNews = await aliceX.roomList.sync(10_000);
  expect(aliceNews.rooms[groups[5]!].timeline.map((e: any) => e.event_id)).toEqual([news]);
  expect(aliceX.roomList.ordered().slice(0, 2)).toEqual([groups[5]!, dm]);

  // Encrypted-session traffic goes through the other connection: a to-device message from Bob.
  await server.request("PUT", `${CLIENT}/sendToDevice/m.room.encrypted/${newTxnId()}`, {
    token: bob.access_token,
    body: { messages: { [alice.user_id]: { [alice.device_id]: { algorithm: "m.olm.v1.curve25519-aes-sha2", ciphertext: {} } } } },
  });
  const enc = await aliceX.encryption.sync(10_000);
  expect(enc.extensions.to_device.events.map((e: any) => e.type)).toEqual(["m.room.encrypted"]);
  const encAgain = await aliceX.encryption.sync(0);
  expect(encAgain.extensions.to_device.events).toEqual([]);

  // Restarting the app after the server forgot the connection: M_UNKNOWN_POS, then a clean start.
  const stale = await server.request("POST", `/_matrix/client/unstable/org.matrix.simplified_msc3575/sync?pos=s1_1&timeout=0`, { token: alice.access_token, body: aliceX.roomList.body() });
  expect(stale.body.errcode).toBe("M_UNKNOWN_POS");
  const restarted = elementX(alice);
  await restarted.loadAllRooms();
  expect(restarted.roomList.rooms.size).toBe(300);
  expect(restarted.roomList.ordered().slice(0, 2)).toEqual([groups[5]!, dm]);
}, 120_000);
