// GET /_matrix/client/v1/rooms/{roomId}/threads (spec: threads_list.yaml):
// thread roots by latest activity, include=participated, pagination, access.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError } from "../helpers/assert";
import { CLIENT, createRoom, inviteUser, joinRoom, leaveRoom, newTxnId, putState, sendMessage, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";
import { ids } from "../helpers/sync";

let server: TestServer;
let alice: User;
let bob: User;
let carol: User;

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.register("thr-alice");
  bob = await server.register("thr-bob");
  carol = await server.register("thr-carol");
});
afterAll(() => server.stop());

function threads(user: User, roomId: string, query: Record<string, string> = {}) {
  const search = new URLSearchParams(query).toString();
  return server.request("GET", `/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/threads${search ? `?${search}` : ""}`, { token: user.access_token });
}

const reply = (root: string, body: string) => ({ msgtype: "m.text", body, "m.relates_to": { rel_type: "m.thread", event_id: root } });

describe("GET /threads", () => {
  test("thread roots ordered by latest activity, with their thread summary", async () => {
    const roomId = await createRoom(server, alice, { preset: "public_chat" });
    await joinRoom(server, bob, roomId);
    const a = await sendMessage(server, alice, roomId, "thread a");
    const b = await sendMessage(server, bob, roomId, "thread b");
    const c = await sendMessage(server, alice, roomId, "thread c");
    await sendMessage(server, alice, roomId, "no thread");
    await sendMessage(server, bob, roomId, reply(a, "a1"));
    await sendMessage(server, alice, roomId, reply(b, "b1"));
    await sendMessage(server, alice, roomId, reply(c, "c1"));
    const latest = await sendMessage(server, bob, roomId, reply(a, "a2"));

    const response = await threads(alice, roomId);
    expect(response.status).toBe(200);
    expect(ids(response.body.chunk)).toEqual([a, c, b]);
    const summary = response.body.chunk[0].unsigned["m.relations"]["m.thread"];
    expect(summary.count).toBe(2);
    expect(summary.latest_event.event_id).toBe(latest);
    expect(summary.current_user_participated).toBe(true);
    expect(response.body.next_batch).toBeUndefined();

    // Participated: bob sent thread b's root and replied in a; he did not take part in c.
    const participated = await threads(bob, roomId, { include: "participated" });
    expect(ids(participated.body.chunk)).toEqual([a, b]);
  });

  test("paginates with next_batch", async () => {
    const roomId = await createRoom(server, alice);
    const roots: string[] = [];
    for (let i = 0; i < 5; i++) {
      const root = await sendMessage(server, alice, roomId, `root ${i}`);
      await sendMessage(server, alice, roomId, reply(root, `reply ${i}`));
      roots.push(root);
    }
    const seen: string[] = [];
    let from: string | undefined;
    for (let page = 0; page < 10; page++) {
      const response = await threads(alice, roomId, { limit: "2", ...(from ? { from } : {}) });
      expect(response.status).toBe(200);
      seen.push(...ids(response.body.chunk));
      if (!response.body.next_batch) break;
      from = response.body.next_batch;
    }
    expect(seen).toEqual([...roots].reverse());
  });

  test("bad input is a Matrix error", async () => {
    const roomId = await createRoom(server, alice);
    expectError(await threads(alice, roomId, { include: "some" }), 400, "M_INVALID_PARAM");
    expectError(await threads(alice, roomId, { limit: "0" }), 400, "M_INVALID_PARAM");
    expectError(await threads(alice, roomId, { limit: "x" }), 400, "M_INVALID_PARAM");
    expectError(await threads(alice, roomId, { from: "bad" }), 400, "M_INVALID_PARAM");
  });

  test("non-members get 403; threads from before a late joiner could see stay hidden; a former member's list stops where they left", async () => {
    const roomId = await createRoom(server, alice, { preset: "private_chat" });
    await putState(server, alice, roomId, "m.room.history_visibility", "", { history_visibility: "joined" });
    const hidden = await sendMessage(server, alice, roomId, "before carol");
    await sendMessage(server, alice, roomId, reply(hidden, "secret reply"));
    expectError(await threads(carol, roomId), 403, "M_FORBIDDEN");

    await inviteUser(server, alice, roomId, carol.user_id);
    await joinRoom(server, carol, roomId);
    // Activity in the old thread after carol joined does not reveal its root.
    await sendMessage(server, alice, roomId, reply(hidden, "reply after carol joined"));
    expect((await threads(carol, roomId)).body.chunk).toEqual([]);

    const visible = await sendMessage(server, alice, roomId, "after carol");
    await sendMessage(server, alice, roomId, reply(visible, "visible reply"));
    expect(ids((await threads(carol, roomId)).body.chunk)).toEqual([visible]);

    await leaveRoom(server, carol, roomId);
    const later = await sendMessage(server, alice, roomId, "after carol left");
    await sendMessage(server, alice, roomId, reply(later, "reply"));
    const after = await threads(carol, roomId);
    expect(ids(after.body.chunk)).toEqual([visible]);
    expect(ids((await threads(alice, roomId)).body.chunk)).toEqual([later, visible, hidden]);
  });

  test("a thread whose only replies are redacted disappears", async () => {
    const roomId = await createRoom(server, alice);
    const root = await sendMessage(server, alice, roomId, "root");
    const only = await sendMessage(server, alice, roomId, reply(root, "only"));
    expect(ids((await threads(alice, roomId)).body.chunk)).toEqual([root]);
    const redaction = await server.request("PUT", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/redact/${encodeURIComponent(only)}/${newTxnId()}`, { token: alice.access_token, body: {} });
    expect(redaction.status).toBe(200);
    expect((await threads(alice, roomId)).body.chunk).toEqual([]);
  });
});
