// Long-polling /sync (spec: GET /sync `timeout`; DESIGN.md "Streams, tokens and
// sync"): a waiting request answers as soon as something concerning the user is
// committed, and only then; under concurrent writes no event is lost or repeated.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sleep } from "../helpers/assert";
import { CLIENT, createRoom, joinRoom, newTxnId, sendMessage, timeline, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";
import { ephemeral, ids, sync } from "../helpers/sync";

let server: TestServer;
let counter = 0;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const newUser = (name = "u") => server.register(`poll-${name}-${++counter}`);

async function publicRoom(owner: User, others: User[]): Promise<string> {
  const roomId = await createRoom(server, owner, { preset: "public_chat" });
  for (const user of others) await joinRoom(server, user, roomId);
  return roomId;
}

/** Starts a long-poll; resolves with the body and how long it took. */
async function timedSync(user: User, since: string, timeout: number, filter?: Record<string, unknown>) {
  const started = performance.now();
  const body = await sync(server, user, { since, timeout, filter });
  return { body, elapsed: performance.now() - started };
}

/** A token after which nothing is pending for `user` (their own first sync's presence included). */
async function settledToken(user: User): Promise<string> {
  let token = (await sync(server, user)).next_batch;
  token = (await sync(server, user, { since: token })).next_batch;
  return token;
}

describe("long-poll wakes", () => {
  test("a message in a room the user is in answers well before the timeout", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await publicRoom(alice, [bob]);
    const since = await settledToken(bob);
    const polling = timedSync(bob, since, 5000);
    await sleep(150);
    const eventId = await sendMessage(server, alice, roomId, "wake up");
    const { body, elapsed } = await polling;
    expect(elapsed).toBeLessThan(2000);
    expect(elapsed).toBeGreaterThanOrEqual(100);
    expect(ids(body.rooms.join[roomId].timeline.events)).toEqual([eventId]);
  });

  test("activity in a room the user is not in does not answer it; the empty answer's token still works", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const carol = await newUser("carol");
    const bobsRoom = await publicRoom(alice, [bob]);
    const otherRoom = await publicRoom(carol, []);
    const since = await settledToken(bob);
    // DESIGN.md: a commit wakes exactly the users it concerns. Count the times
    // bob's waiting request is woken (the timeout is not a wake).
    const notifier = server.hs.notifier;
    const wait = notifier.wait;
    let wakes = 0;
    notifier.wait = (userId, wake) => wait.call(notifier, userId, userId === bob.user_id ? (pos) => (wakes++, wake(pos)) : wake);
    let result;
    try {
      const polling = timedSync(bob, since, 1500);
      await sleep(100);
      await sendMessage(server, carol, otherRoom, "not for bob");
      await sendMessage(server, carol, otherRoom, "still not for bob");
      result = await polling;
    } finally {
      notifier.wait = wait;
    }
    expect(wakes).toBe(0);
    const { body, elapsed } = result;
    expect(elapsed).toBeGreaterThanOrEqual(1300);
    expect(body.rooms.join).toEqual({});
    expect(body.rooms.join[otherRoom]).toBeUndefined();

    // The returned token carries on from there: the next event in bob's room, and only it.
    const eventId = await sendMessage(server, alice, bobsRoom, "for bob");
    const next = await sync(server, bob, { since: body.next_batch });
    expect(Object.keys(next.rooms.join)).toEqual([bobsRoom]);
    expect(ids(next.rooms.join[bobsRoom].timeline.events)).toEqual([eventId]);
  });

  test("typing in a shared room wakes it", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await publicRoom(alice, [bob]);
    const since = await settledToken(bob);
    const polling = timedSync(bob, since, 5000);
    await sleep(100);
    const typing = await server.request("PUT", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/typing/${encodeURIComponent(alice.user_id)}`, {
      token: alice.access_token,
      body: { typing: true, timeout: 10000 },
    });
    expect(typing.status).toBe(200);
    const { body, elapsed } = await polling;
    expect(elapsed).toBeLessThan(2000);
    expect(ephemeral(body.rooms.join[roomId], "m.typing")?.content.user_ids).toEqual([alice.user_id]);
    expect(body.rooms.join[roomId].timeline.events).toEqual([]);
  });

  test("a presence change wakes a long-poll whose filter wants presence, and not one whose filter leaves it out", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const carol = await newUser("carol");
    const roomId = await publicRoom(alice, [bob, carol]);
    // Carol first: her first sync's presence would otherwise wake Bob's long-poll.
    const carolSince = await settledToken(carol);
    const bobSince = await settledToken(bob);
    const noPresence = { presence: { types: [] } };
    const wantsPresence = timedSync(bob, bobSince, 5000);
    const leavesItOut = timedSync(carol, carolSince, 1500, noPresence);
    await sleep(100);
    const set = await server.request("PUT", `${CLIENT}/presence/${encodeURIComponent(alice.user_id)}/status`, {
      token: alice.access_token,
      body: { presence: "unavailable", status_msg: "away" },
    });
    expect(set.status).toBe(200);
    const woken = await wantsPresence;
    expect(woken.elapsed).toBeLessThan(1000);
    expect(woken.body.presence.events.find((event: any) => event.sender === alice.user_id)?.content.presence).toBe("unavailable");
    // Carol's long-poll sleeps through it, to its timeout, and answers empty...
    const slept = await leavesItOut;
    expect(slept.elapsed).toBeGreaterThanOrEqual(1400);
    expect(slept.body.presence.events).toEqual([]);
    expect(slept.body.rooms.join[roomId]).toBeUndefined();
    // ...and a message after a presence change still wakes it at once.
    const waiting = timedSync(carol, slept.body.next_batch, 5000, noPresence);
    await sleep(100);
    await server.request("PUT", `${CLIENT}/presence/${encodeURIComponent(alice.user_id)}/status`, { token: alice.access_token, body: { presence: "online" } });
    await sleep(100);
    const eventId = await sendMessage(server, alice, roomId, "after presence");
    const { body, elapsed } = await waiting;
    expect(elapsed).toBeLessThan(2000);
    expect(ids(body.rooms.join[roomId].timeline.events)).toEqual([eventId]);
    expect(body.presence.events).toEqual([]);
  });

  test("a to-device message wakes the target device", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const since = await settledToken(bob);
    const polling = timedSync(bob, since, 5000);
    await sleep(100);
    const sent = await server.request("PUT", `${CLIENT}/sendToDevice/org.example.ping/${newTxnId()}`, {
      token: alice.access_token,
      body: { messages: { [bob.user_id]: { [bob.device_id]: { n: 1 } } } },
    });
    expect(sent.status).toBe(200);
    const { body, elapsed } = await polling;
    expect(elapsed).toBeLessThan(2000);
    expect(body.to_device.events).toEqual([{ type: "org.example.ping", sender: alice.user_id, content: { n: 1 } }]);
  });

  test("an invite wakes the invitee; a kick wakes the one kicked", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await createRoom(server, alice, { preset: "private_chat" });
    let since = await settledToken(bob);
    let polling = timedSync(bob, since, 5000);
    await sleep(100);
    await server.request("POST", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/invite`, { token: alice.access_token, body: { user_id: bob.user_id } });
    let result = await polling;
    expect(result.elapsed).toBeLessThan(2000);
    expect(result.body.rooms.invite[roomId]).toBeDefined();

    await joinRoom(server, bob, roomId);
    since = await settledToken(bob);
    polling = timedSync(bob, since, 5000);
    await sleep(100);
    const kick = await server.request("POST", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/kick`, { token: alice.access_token, body: { user_id: bob.user_id } });
    expect(kick.status).toBe(200);
    result = await polling;
    expect(result.elapsed).toBeLessThan(2000);
    expect(result.body.rooms.leave[roomId]?.timeline.events.at(-1)).toMatchObject({ type: "m.room.member", state_key: bob.user_id, content: { membership: "leave" } });
  });

  test("a receipt wakes the other members; account data wakes its owner's other devices", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const roomId = await publicRoom(alice, [bob]);
    const eventId = await sendMessage(server, bob, roomId, "read this");
    let since = await settledToken(bob);
    let polling = timedSync(bob, since, 5000);
    await sleep(100);
    await server.request("POST", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/receipt/m.read/${encodeURIComponent(eventId)}`, { token: alice.access_token, body: {} });
    let result = await polling;
    expect(result.elapsed).toBeLessThan(2000);
    expect(ephemeral(result.body.rooms.join[roomId], "m.receipt")?.content[eventId]["m.read"][alice.user_id]).toBeDefined();

    since = await settledToken(bob);
    polling = timedSync(bob, since, 5000);
    await sleep(100);
    await server.request("PUT", `${CLIENT}/user/${encodeURIComponent(bob.user_id)}/account_data/org.example.setting`, { token: bob.access_token, body: { on: true } });
    result = await polling;
    expect(result.elapsed).toBeLessThan(2000);
    expect(result.body.account_data.events).toEqual([{ type: "org.example.setting", content: { on: true } }]);
  });

  test("timeout=0 answers at once even with nothing new", async () => {
    const bob = await newUser("bob");
    const since = await settledToken(bob);
    const { body, elapsed } = await timedSync(bob, since, 0);
    expect(elapsed).toBeLessThan(500);
    expect(body.rooms.join).toEqual({});
  });
});

describe("concurrency", () => {
  test("5 writers × 20 messages while 3 clients long-poll: each client's timelines are the room's timeline, in order, nothing lost or repeated", async () => {
    const owner = await newUser("owner");
    const writers = await Promise.all([1, 2, 3, 4, 5].map((i) => newUser(`writer${i}`)));
    const readers = await Promise.all([1, 2, 3].map((i) => newUser(`reader${i}`)));
    const roomId = await publicRoom(owner, [...writers, ...readers]);
    const PER_WRITER = 20;
    const TOTAL = writers.length * PER_WRITER;

    // Two readers take everything in one timeline; one uses a small limit and
    // fills each gap from prev_batch with /messages, as clients do.
    const limits = [1000, 1000, 3];
    const collect = async (reader: User, limit: number): Promise<string[]> => {
      const filter = { room: { timeline: { limit } } };
      const initial = await sync(server, reader, { filter: { room: { timeline: { limit: 1000 } } } });
      expect(initial.rooms.join[roomId].timeline.limited).toBe(false);
      const seen: string[] = ids(initial.rooms.join[roomId].timeline.events);
      let since = initial.next_batch;
      const deadline = Date.now() + 30_000;
      let messageCount = 0;
      while (messageCount < TOTAL && Date.now() < deadline) {
        const body = await sync(server, reader, { since, timeout: 2000, filter });
        const section = body.rooms.join[roomId];
        if (section) {
          let batch = section.timeline.events;
          if (section.timeline.limited) {
            const gap: any[] = [];
            let from: string | undefined = section.timeline.prev_batch;
            while (from !== undefined) {
              const page = await server.request(
                "GET",
                `${CLIENT}/rooms/${encodeURIComponent(roomId)}/messages?${new URLSearchParams({ dir: "b", from, to: since, limit: "7" })}`,
                { token: reader.access_token },
              );
              expect(page.status).toBe(200);
              gap.push(...page.body.chunk);
              from = page.body.end;
            }
            batch = [...gap.reverse(), ...batch];
          }
          seen.push(...ids(batch));
          messageCount += batch.filter((event: any) => event.type === "m.room.message").length;
        }
        since = body.next_batch;
      }
      return seen;
    };
    const readings = readers.map((reader, i) => collect(reader, limits[i]!));
    await sleep(50);

    const sent = await Promise.all(
      writers.map(async (writer, w) => {
        const mine: string[] = [];
        for (let i = 0; i < PER_WRITER; i++) mine.push(await sendMessage(server, writer, roomId, `w${w}-${i}`));
        return mine;
      }),
    );
    const seenByReaders = await Promise.all(readings);

    const full = ids(await timeline(server, owner, roomId));
    const allSent = new Set(sent.flat());
    expect(allSent.size).toBe(TOTAL);
    for (const id of allSent) expect(full).toContain(id);
    // Each writer's messages are in the order it sent them.
    for (const mine of sent) expect(full.filter((id) => mine.includes(id))).toEqual(mine);
    for (const seen of seenByReaders) {
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual(full);
    }
  }, 60_000);
});
