// Simplified sliding sync (MSC4186) helpers: each call is a real HTTP request.
import { expect } from "bun:test";
import type { User } from "./rooms";
import type { TestServer } from "./server";

export const SLIDING = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync";

export interface SlidingOptions {
  pos?: string;
  timeout?: number;
}

/** POST the sliding sync request; pos and timeout go in the query, as matrix-rust-sdk sends them. */
export function slidingRaw(server: TestServer, user: User, body: Record<string, unknown>, options: SlidingOptions = {}) {
  const query = new URLSearchParams();
  if (options.pos !== undefined) query.set("pos", options.pos);
  query.set("timeout", String(options.timeout ?? 0));
  return server.request("POST", `${SLIDING}?${query}`, { token: user.access_token, body });
}

/** A sliding sync request that must succeed; returns the body. */
export async function sliding(server: TestServer, user: User, body: Record<string, unknown>, options: SlidingOptions = {}): Promise<any> {
  const response = await slidingRaw(server, user, body, options);
  if (response.status !== 200) throw new Error(`sliding sync: ${response.status} ${JSON.stringify(response.body)}`);
  expect(response.body.pos).toBeString();
  return response.body;
}

/** Room ids of a response ordered as a client orders them: by bump_stamp, newest first. */
export function byBumpStamp(rooms: Record<string, any>): string[] {
  return Object.entries(rooms)
    .sort(([, a], [, b]) => (b.bump_stamp ?? 0) - (a.bump_stamp ?? 0))
    .map(([roomId]) => roomId);
}

/** The list the room list of matrix-rust-sdk asks for (room_list_service, "all_rooms"). */
export function allRoomsList(range: [number, number], timelineLimit = 1): Record<string, unknown> {
  return {
    ranges: [range],
    timeline_limit: timelineLimit,
    required_state: [
      ["m.room.encryption", ""],
      ["m.room.member", "$LAZY"],
      ["m.room.member", "$ME"],
      ["m.room.name", ""],
      ["m.room.topic", ""],
      ["m.room.avatar", ""],
      ["m.room.canonical_alias", ""],
      ["m.room.power_levels", ""],
      ["m.room.join_rules", ""],
      ["m.room.tombstone", ""],
      ["m.room.create", ""],
      ["m.room.history_visibility", ""],
      ["org.matrix.msc3401.call.member", "*"],
      ["m.space.parent", "*"],
    ],
    filters: { not_room_types: ["m.space"] },
  };
}
