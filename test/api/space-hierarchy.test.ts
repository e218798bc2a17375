// Space hierarchy (spec: Client-Server API, "Spaces"; space_hierarchy.yaml).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError } from "../helpers/assert";
import { createRoom, inviteUser, joinRoom, putState, type User } from "../helpers/rooms";
import { startTestServer, type TestServer } from "../helpers/server";

let server: TestServer;
let owner: User;
let member: User;
let outsider: User;
let via: string[];

beforeAll(async () => {
  server = await startTestServer();
  owner = await server.register("sp-owner");
  member = await server.register("sp-member");
  outsider = await server.register("sp-outsider");
  via = [server.hs.config.server_name];
});
afterAll(() => server.stop());

const hierarchy = (user: User, roomId: string, query: Record<string, string> = {}) => {
  const search = new URLSearchParams(query).toString();
  return server.request("GET", `/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/hierarchy${search ? `?${search}` : ""}`, { token: user.access_token });
};

const ids = (response: { body: { rooms: { room_id: string }[] } }) => response.body.rooms.map((room) => room.room_id);

function space(user: User, body: Record<string, unknown> = {}) {
  return createRoom(server, user, { preset: "public_chat", ...body, creation_content: { type: "m.space" } });
}

function addChild(parent: string, child: string, content: Record<string, unknown> = { via }) {
  return putState(server, owner, parent, "m.space.child", child, content);
}

describe("the walk", () => {
  let root: string;
  let publicChild: string;
  let privateHidden: string;
  let privateJoined: string;
  let noVia: string;
  let subspace: string;
  let grandchild: string;

  beforeAll(async () => {
    root = await space(owner, { name: "Root space", topic: "All of it" });
    publicChild = await createRoom(server, owner, { preset: "public_chat", name: "Public child" });
    privateHidden = await createRoom(server, owner, { preset: "private_chat", name: "Secret plans" });
    privateJoined = await createRoom(server, owner, { preset: "private_chat", name: "Members only" });
    await inviteUser(server, owner, privateJoined, member.user_id);
    await joinRoom(server, member, privateJoined);
    noVia = await createRoom(server, owner, { preset: "public_chat" });
    subspace = await space(owner, { name: "Sub space" });
    grandchild = await createRoom(server, owner, { preset: "public_chat", name: "Grandchild" });
    await addChild(root, subspace, { via, order: "b" });
    await addChild(root, publicChild, { via, order: "a", suggested: true });
    await addChild(root, privateHidden, { via });
    // Children without `order` go by origin_server_ts: make sure the two differ.
    await Bun.sleep(5);
    await addChild(root, privateJoined, { via });
    await addChild(root, noVia, {});
    await addChild(subspace, grandchild, { via });
  });

  test("depth first, children by `order` then by time; rooms the requester cannot see are left out", async () => {
    const response = await hierarchy(member, root);
    expect(response.status).toBe(200);
    expect(ids(response)).toEqual([root, publicChild, subspace, grandchild, privateJoined]);
    expect(response.body.next_batch).toBeUndefined();
    // The owner is in every room.
    expect(ids(await hierarchy(owner, root))).toEqual([root, publicChild, subspace, grandchild, privateHidden, privateJoined]);
  });

  test("summaries carry the spec's fields and children_state stripped, with origin_server_ts", async () => {
    const [rootEntry, childEntry] = (await hierarchy(member, root)).body.rooms;
    expect(rootEntry).toMatchObject({
      room_id: root,
      name: "Root space",
      topic: "All of it",
      room_type: "m.space",
      join_rule: "public",
      num_joined_members: 1,
      world_readable: false,
      guest_can_join: false,
      room_version: "11",
    });
    // The child without `via` is ignored, also in children_state.
    expect(rootEntry.children_state.map((child: any) => child.state_key).sort()).toEqual([subspace, publicChild, privateHidden, privateJoined].sort());
    const stripped = rootEntry.children_state.find((child: any) => child.state_key === publicChild);
    expect(stripped).toEqual({ type: "m.space.child", state_key: publicChild, content: { via, order: "a", suggested: true }, sender: owner.user_id, origin_server_ts: expect.any(Number) });
    expect(childEntry).toMatchObject({ room_id: publicChild, name: "Public child", children_state: [] });
    expect(childEntry.room_type).toBeUndefined();
  });

  test("suggested_only keeps only suggested children", async () => {
    const response = await hierarchy(member, root, { suggested_only: "true" });
    expect(ids(response)).toEqual([root, publicChild]);
    expect(response.body.rooms[0].children_state.map((child: any) => child.state_key)).toEqual([publicChild]);
  });

  test("max_depth", async () => {
    expect(ids(await hierarchy(member, root, { max_depth: "0" }))).toEqual([root]);
    expect(ids(await hierarchy(member, root, { max_depth: "1" }))).toEqual([root, publicChild, subspace, privateJoined]);
  });

  test("limit and from page through the same walk; from cannot change the parameters", async () => {
    const first = await hierarchy(member, root, { limit: "2" });
    expect(ids(first)).toEqual([root, publicChild]);
    expect(first.body.next_batch).toBeString();
    const second = await hierarchy(member, root, { limit: "2", from: first.body.next_batch });
    expect(ids(second)).toEqual([subspace, grandchild]);
    const third = await hierarchy(member, root, { limit: "2", from: second.body.next_batch });
    expect(ids(third)).toEqual([privateJoined]);
    expect(third.body.next_batch).toBeUndefined();
    expectError(await hierarchy(member, root, { limit: "2", from: first.body.next_batch, max_depth: "1" }), 400, "M_INVALID_PARAM");
    expectError(await hierarchy(member, root, { limit: "2", from: first.body.next_batch, suggested_only: "true" }), 400, "M_INVALID_PARAM");
    expectError(await hierarchy(member, subspace, { from: first.body.next_batch }), 400, "M_INVALID_PARAM");
    expectError(await hierarchy(member, root, { from: "garbage" }), 400, "M_INVALID_PARAM");
  });

  test("a space reached twice is shown once", async () => {
    await addChild(subspace, root);
    await addChild(grandchild, subspace);
    expect(ids(await hierarchy(member, root))).toEqual([root, publicChild, subspace, grandchild, privateJoined]);
  });
});

describe("who may see what", () => {
  test("a private space: 403 for outsiders (nothing about its children leaks), 200 for members and invitees", async () => {
    const secret = await createRoom(server, owner, { preset: "private_chat", creation_content: { type: "m.space" } });
    const child = await createRoom(server, owner, { preset: "public_chat", name: "Public inside private" });
    await addChild(secret, child);
    const response = await hierarchy(outsider, secret);
    expectError(response, 403, "M_FORBIDDEN");
    expect(JSON.stringify(response.body)).not.toContain(child);
    await inviteUser(server, owner, secret, member.user_id);
    expect(ids(await hierarchy(member, secret))).toEqual([secret, child]);
  });

  test("unknown room: 403 (the spec's 'The room does not exist'); malformed id: 400", async () => {
    expectError(await hierarchy(member, `!nowhere:${server.hs.config.server_name}`), 403, "M_FORBIDDEN");
    expectError(await hierarchy(member, "nowhere"), 400, "M_INVALID_PARAM");
  });

  test("world_readable and knockable rooms can be previewed", async () => {
    const root = await createRoom(server, owner, { preset: "private_chat", creation_content: { type: "m.space" } });
    await putState(server, owner, root, "m.room.history_visibility", "", { history_visibility: "world_readable" });
    const knockable = await createRoom(server, owner, { preset: "private_chat", name: "Knock knock" });
    await putState(server, owner, knockable, "m.room.join_rules", "", { join_rule: "knock" });
    await addChild(root, knockable);
    const response = await hierarchy(outsider, root);
    expect(ids(response)).toEqual([root, knockable]);
    expect(response.body.rooms[0].world_readable).toBe(true);
    expect(response.body.rooms[1].join_rule).toBe("knock");
  });

  test("restricted rooms: shown to members of an allowed room, with allowed_room_ids", async () => {
    const root = await space(owner);
    const restricted = await createRoom(server, owner, { preset: "private_chat", name: "Space members" });
    await putState(server, owner, restricted, "m.room.join_rules", "", { join_rule: "restricted", allow: [{ type: "m.room_membership", room_id: root }] });
    await addChild(root, restricted);
    expect(ids(await hierarchy(outsider, root))).toEqual([root]);
    await joinRoom(server, outsider, root);
    const response = await hierarchy(outsider, root);
    expect(ids(response)).toEqual([root, restricted]);
    expect(response.body.rooms[1].allowed_room_ids).toEqual([root]);
  });

  test("a banned user cannot see a public space", async () => {
    const root = await space(owner);
    const banned = await server.register("sp-banned");
    await joinRoom(server, banned, root);
    const ban = await server.request("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(root)}/ban`, { token: owner.access_token, body: { user_id: banned.user_id } });
    expect(ban.status).toBe(200);
    expectError(await hierarchy(banned, root), 403, "M_FORBIDDEN");
  });
});

describe("bad input", () => {
  test("limit, max_depth and suggested_only are checked: 400 M_INVALID_PARAM; no login: 401", async () => {
    const root = await space(owner);
    const queries: Record<string, string>[] = [{ limit: "0" }, { limit: "-1" }, { limit: "x" }, { max_depth: "-1" }, { max_depth: "1.5" }, { suggested_only: "yes" }];
    for (const query of queries) {
      expectError(await hierarchy(member, root, query), 400, "M_INVALID_PARAM");
    }
    expectError(await server.request("GET", `/_matrix/client/v1/rooms/${encodeURIComponent(root)}/hierarchy`), 401, "M_MISSING_TOKEN");
  });
});
