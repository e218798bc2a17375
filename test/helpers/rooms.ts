// Small room helpers shared by the room suites: each one is a real HTTP request
// that must succeed, so a suite reads as the scenario it tests.
import { expect } from "bun:test";
import type { TestServer } from "./server";

export const CLIENT = "/_matrix/client/v3";

export interface User {
  user_id: string;
  access_token: string;
  device_id: string;
}

let txnCounter = 0;
/** A transaction id no other request of this process uses. */
export const newTxnId = () => `txn-${Date.now()}-${++txnCounter}`;

const room = (roomId: string) => `${CLIENT}/rooms/${encodeURIComponent(roomId)}`;

/** Sends a request that must succeed, and returns its body. */
async function ok(server: TestServer, method: string, path: string, token: string, body?: unknown): Promise<any> {
  const response = await server.request(method, path, { token, body });
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

export async function createRoom(server: TestServer, user: User, body: Record<string, unknown> = {}): Promise<string> {
  const response = await ok(server, "POST", `${CLIENT}/createRoom`, user.access_token, body);
  expect(response.room_id).toStartWith("!");
  return response.room_id as string;
}

export async function sendMessage(server: TestServer, user: User, roomId: string, content: Record<string, unknown> | string, type = "m.room.message"): Promise<string> {
  const body = typeof content === "string" ? { msgtype: "m.text", body: content } : content;
  const response = await ok(server, "PUT", `${room(roomId)}/send/${encodeURIComponent(type)}/${newTxnId()}`, user.access_token, body);
  return response.event_id as string;
}

export async function putState(server: TestServer, user: User, roomId: string, type: string, stateKey: string, content: Record<string, unknown>): Promise<string> {
  const response = await ok(server, "PUT", `${room(roomId)}/state/${encodeURIComponent(type)}/${encodeURIComponent(stateKey)}`, user.access_token, content);
  return response.event_id as string;
}

export async function joinRoom(server: TestServer, user: User, roomIdOrAlias: string): Promise<void> {
  await ok(server, "POST", `${CLIENT}/join/${encodeURIComponent(roomIdOrAlias)}`, user.access_token, {});
}

export async function inviteUser(server: TestServer, inviter: User, roomId: string, userId: string): Promise<void> {
  await ok(server, "POST", `${room(roomId)}/invite`, inviter.access_token, { user_id: userId });
}

export async function leaveRoom(server: TestServer, user: User, roomId: string): Promise<void> {
  await ok(server, "POST", `${room(roomId)}/leave`, user.access_token, {});
}

/** GET /rooms/{roomId}/{what} with a query, as `user` (no status check). */
export function getRoom(server: TestServer, user: User, roomId: string, what: string, query: Record<string, string> = {}) {
  const search = new URLSearchParams(query).toString();
  return server.request("GET", `${room(roomId)}/${what}${search ? `?${search}` : ""}`, { token: user.access_token });
}

/** Every event of the room `user` can page through with /messages from the start, in order. */
export async function timeline(server: TestServer, user: User, roomId: string, filter?: Record<string, unknown>): Promise<any[]> {
  const events: any[] = [];
  let from: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const query: Record<string, string> = { dir: "f", limit: "100" };
    if (from) query.from = from;
    if (filter) query.filter = JSON.stringify(filter);
    const response = await getRoom(server, user, roomId, "messages", query);
    if (response.status !== 200) throw new Error(`messages: ${response.status} ${JSON.stringify(response.body)}`);
    events.push(...response.body.chunk);
    if (response.body.end === undefined) return events;
    from = response.body.end;
  }
  throw new Error("messages never ended");
}

/** Number of events stored on the server (all rooms). */
export function storedEventCount(server: TestServer): number {
  return (server.hs.store.sqlite.query("SELECT COUNT(*) AS n FROM events").get() as { n: number }).n;
}

/** Number of rooms stored on the server. */
export function storedRoomCount(server: TestServer): number {
  return (server.hs.store.sqlite.query("SELECT COUNT(*) AS n FROM rooms").get() as { n: number }).n;
}

/** The stored rows of one room's events, in stream order. */
export function storedRoomEvents(server: TestServer, roomId: string) {
  return server.hs.store.events.page(roomId, { fromPos: 0, dir: "f", limit: 1_000_000 });
}

/** The stored PDU of an event. */
export function storedPdu(server: TestServer, eventId: string): Record<string, any> {
  const row = server.hs.store.events.get(eventId);
  if (!row) throw new Error(`event ${eventId} is not stored`);
  return JSON.parse(row.pdu);
}

/** Runs `work` and asserts that no event and no room was stored meanwhile. */
export async function expectNothingStored<T>(server: TestServer, work: () => Promise<T>): Promise<T> {
  const events = storedEventCount(server);
  const rooms = storedRoomCount(server);
  const result = await work();
  expect({ events: storedEventCount(server), rooms: storedRoomCount(server) }).toEqual({ events, rooms });
  return result;
}
