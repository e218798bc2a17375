// GET /rooms/{roomId}/initialSync (spec: Client-Server API, "Room Previews" /
// room_initial_sync.yaml, deprecated for anything but peeking): the state and
// latest messages of a room, as /messages and /state give them, so history
// visibility applies the same way (403 for a room the user may not read).
import type { Homeserver } from "../homeserver";
import { toClientEvent, type Viewer } from "./client-format";
import { roomMessages, visibleState } from "./reading";
import { currentStateEvent } from "./room-state";

export function roomInitialSync(hs: Homeserver, roomId: string, viewer: Viewer, limit: number) {
  const page = roomMessages(hs, roomId, viewer, { dir: "b", limit, filter: {} });
  const state = visibleState(hs, roomId, viewer.userId).map((event) => toClientEvent(hs, event, viewer));
  const response: Record<string, unknown> = {
    room_id: roomId,
    // Oldest first; `start` pages further back, `end` is where the page ends (now).
    messages: { chunk: [...page.chunk].reverse(), start: page.end ?? page.start, end: page.start },
    state,
    visibility: hs.store.rooms.get(roomId)?.published ? "public" : "private",
    account_data: hs.store.accountData.all(viewer.userId, roomId).map((row) => ({ type: row.type, content: JSON.parse(row.content) })),
    presence: [],
  };
  const membership = currentStateEvent(hs, roomId, "m.room.member", viewer.userId)?.pdu.content.membership;
  if (typeof membership === "string") response.membership = membership;
  return response;
}
