// Joining a restricted room (spec: Client-Server API, "Restricted rooms"; room
// versions 8+, auth rule 4.3.5): a member of an allowed room joins without an
// invitation, and the server, as the room's resident server, names in
// join_authorised_via_users_server a member who may invite. Before this was
// filled in, every such join was refused by auth rule 4.3.5.2, so rooms that
// clients create as "visible to space members" could not be joined at all.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { expectError } from "../helpers/assert";
import { CLIENT, createRoom, expectNothingStored, getRoom, inviteUser, joinRoom, leaveRoom, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";

let server: TestServer;
let alice: User;
let bob: User;
let carol: User;
let spaceId: string;

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.register("restricted-alice");
  bob = await server.register("restricted-bob");
  carol = await server.register("restricted-carol");
  spaceId = await createRoom(server, alice, { preset: "private_chat", creation_content: { type: "m.space" }, invite: [bob.user_id] });
  await joinRoom(server, bob, spaceId);
});
afterAll(() => server.stop());

function restrictedRoom(joinRule: "restricted" | "knock_restricted", extra: Record<string, unknown> = {}): Promise<string> {
  return createRoom(server, alice, {
    preset: "private_chat",
    initial_state: [{ type: "m.room.join_rules", state_key: "", content: { join_rule: joinRule, allow: [{ type: "m.room_membership", room_id: spaceId }] } }],
    ...extra,
  });
}

async function memberContent(roomId: string, userId: string): Promise<Record<string, unknown>> {
  const response = await getRoom(server, alice, roomId, `state/m.room.member/${encodeURIComponent(userId)}`);
  expect(response.status).toBe(200);
  return response.body;
}

const join = (user: User, roomId: string) => server.request("POST", `${CLIENT}/join/${encodeURIComponent(roomId)}`, { token: user.access_token, body: {} });

test("a member of an allowed room joins without an invitation, authorised by a member who may invite", async () => {
  const roomId = await restrictedRoom("restricted");
  const response = await join(bob, roomId);
  expect(response.status).toBe(200);
  expect(await memberContent(roomId, bob.user_id)).toMatchObject({ membership: "join", join_authorised_via_users_server: alice.user_id });
  // Leaving and coming back is a fresh restricted join.
  await leaveRoom(server, bob, roomId);
  expect((await join(bob, roomId)).status).toBe(200);
  expect(await memberContent(roomId, bob.user_id)).toMatchObject({ membership: "join", join_authorised_via_users_server: alice.user_id });
});

test("the same through POST /rooms/{roomId}/join, and for knock_restricted rooms", async () => {
  const roomId = await restrictedRoom("knock_restricted");
  const response = await server.request("POST", `${CLIENT}/rooms/${encodeURIComponent(roomId)}/join`, { token: bob.access_token, body: {} });
  expect(response.status).toBe(200);
  expect(await memberContent(roomId, bob.user_id)).toMatchObject({ membership: "join", join_authorised_via_users_server: alice.user_id });
});

test("a user in none of the allowed rooms is refused, and nothing is stored", async () => {
  const roomId = await restrictedRoom("restricted");
  await expectNothingStored(server, async () => expectError(await join(carol, roomId), 403, "M_FORBIDDEN"));
});

test("an invited user joins as invited, without an authorising user", async () => {
  const roomId = await restrictedRoom("restricted");
  await inviteUser(server, alice, roomId, carol.user_id);
  expect((await join(carol, roomId)).status).toBe(200);
  const content = await memberContent(roomId, carol.user_id);
  expect(content.membership).toBe("join");
  expect(content).not.toHaveProperty("join_authorised_via_users_server");
});

test("only a member able to invite authorises; with none left in the room the join is refused", async () => {
  // Inviting needs power 50; carol is in the room with the default 0.
  const roomId = await restrictedRoom("restricted", { power_level_content_override: { invite: 50 }, invite: [carol.user_id] });
  await joinRoom(server, carol, roomId);
  await leaveRoom(server, alice, roomId);
  await expectNothingStored(server, async () => expectError(await join(bob, roomId), 403, "M_FORBIDDEN"));
});
