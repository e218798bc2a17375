// POST /createRoom (spec: Client-Server API, "Creation"): the initial events in
// the spec's order, all in one transaction, each through appendEvent.
import type { Homeserver } from "../homeserver";
import { MatrixError } from "../http/errors";
import { now } from "../util/time";
import { appendEvent } from "./append";
import { aliasFromLocalpart, newRoomId, requireUserId } from "./ids";
import { changeMembership, invite } from "./membership";
import { DEFAULT_ROOM_VERSION, roomVersionRules } from "./room-versions";

export type Preset = "private_chat" | "trusted_private_chat" | "public_chat";

export interface CreateRoomRequest {
  visibility?: "public" | "private";
  room_alias_name?: string;
  name?: string;
  topic?: string;
  invite?: string[];
  room_version?: string;
  creation_content?: Record<string, unknown>;
  initial_state?: { type: string; state_key?: string; content: Record<string, unknown> }[];
  preset?: Preset;
  is_direct?: boolean;
  power_level_content_override?: Record<string, unknown>;
}

// The spec's preset table; like Synapse, members of private chats may invite
// (invite level 0) while public rooms keep invites to moderators (50).
const PRESET_STATE: Record<Preset, { join_rule: string; history_visibility: string; guest_access: string; invite: number }> = {
  private_chat: { join_rule: "invite", history_visibility: "shared", guest_access: "can_join", invite: 0 },
  trusted_private_chat: { join_rule: "invite", history_visibility: "shared", guest_access: "can_join", invite: 0 },
  public_chat: { join_rule: "public", history_visibility: "shared", guest_access: "forbidden", invite: 50 },
};

/** Default power levels (as Synapse sets them; spec "m.room.power_levels" for the fields). */
function defaultPowerLevels(creator: string, trustedInvitees: string[], invite: number): Record<string, unknown> {
  const users: Record<string, number> = { [creator]: 100 };
  for (const invitee of trustedInvitees) users[invitee] = 100;
  return {
    users,
    users_default: 0,
    events: {
      "m.room.name": 50,
      "m.room.power_levels": 100,
      "m.room.history_visibility": 100,
      "m.room.canonical_alias": 50,
      "m.room.avatar": 50,
      "m.room.tombstone": 100,
      "m.room.server_acl": 100,
      "m.room.encryption": 100,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite,
    notifications: { room: 50 },
  };
}

/**
 * An initial event the auth rules refuse (e.g. power_level_content_override left
 * the creator below the level to send the name, or initial_state names another
 * user's state key) makes the request's initial state invalid: 400
 * M_INVALID_ROOM_STATE (spec: createRoom, 400 response), not a 403.
 */
function invalidRoomState(error: unknown): unknown {
  if (error instanceof MatrixError && error.status === 403) {
    return new MatrixError(400, "M_INVALID_ROOM_STATE", `The initial state is invalid: ${error.message}`);
  }
  return error;
}

export function createRoom(hs: Homeserver, creator: string, request: CreateRoomRequest): { room_id: string; room_alias?: string } {
  const roomVersion = request.room_version ?? DEFAULT_ROOM_VERSION;
  const rules = roomVersionRules(roomVersion);
  if (!rules) throw new MatrixError(400, "M_UNSUPPORTED_ROOM_VERSION", `Room version ${roomVersion} is not supported`);
  const serverName = hs.config.server_name;
  const alias = request.room_alias_name !== undefined ? aliasFromLocalpart(request.room_alias_name, serverName) : undefined;
  if (alias && hs.store.rooms.aliasTarget(alias)) throw new MatrixError(400, "M_ROOM_IN_USE", "Room alias already taken");
  const invitees = (request.invite ?? []).map((userId) => requireUserId(userId, "invite"));
  for (const invitee of invitees) {
    if (!hs.store.users.get(invitee)) throw new MatrixError(404, "M_NOT_FOUND", `Unknown user ${invitee}`);
  }
  const preset: Preset = request.preset ?? (request.visibility === "public" ? "public_chat" : "private_chat");
  if (!(preset in PRESET_STATE)) throw new MatrixError(400, "M_INVALID_PARAM", `Unknown preset ${preset}`);
  const initialState = request.initial_state ?? [];
  for (const event of initialState) {
    if (typeof event?.type !== "string" || typeof event.content !== "object" || event.content === null) {
      throw new MatrixError(400, "M_INVALID_PARAM", "initial_state entries need a type and a content object");
    }
  }

  const roomId = newRoomId(serverName);
  try {
    hs.store.transaction(() => {
      hs.store.rooms.insert({ roomId, roomVersion, creator, createdTs: now() });
      const send = (type: string, content: Record<string, unknown>, stateKey = "") =>
        appendEvent(hs, { roomId, sender: creator, type, stateKey, content });

      // 1. m.room.create. The server overwrites `creator` and `room_version` of
      // creation_content (spec: createRoom "creation_content"); from v11 there is no
      // `creator` (the sender is the creator), so a client-given one is dropped
      // rather than left to mislead clients that still read it.
      const createContent: Record<string, unknown> = { ...request.creation_content, room_version: roomVersion };
      if (rules.createHasCreator) createContent.creator = creator;
      else delete createContent.creator;
      send("m.room.create", createContent);
      // 2. the creator joins
      changeMembership(hs, { roomId, sender: creator, target: creator, membership: "join" });
      // 3. power levels, overridden key by key
      const powerLevels = {
        ...defaultPowerLevels(creator, preset === "trusted_private_chat" ? invitees : [], PRESET_STATE[preset].invite),
        ...request.power_level_content_override,
      };
      send("m.room.power_levels", powerLevels);
      // 4. canonical alias
      if (alias) {
        hs.store.rooms.insertAlias(alias, roomId, creator);
        send("m.room.canonical_alias", { alias });
      }
      // 5. preset state, unless initial_state sets the same event
      const inInitialState = (type: string) => initialState.some((e) => e.type === type && (e.state_key ?? "") === "");
      const presetState = PRESET_STATE[preset];
      if (!inInitialState("m.room.join_rules")) send("m.room.join_rules", { join_rule: presetState.join_rule });
      if (!inInitialState("m.room.history_visibility")) {
        send("m.room.history_visibility", { history_visibility: presetState.history_visibility });
      }
      if (!inInitialState("m.room.guest_access")) send("m.room.guest_access", { guest_access: presetState.guest_access });
      // 6. initial_state in order
      for (const event of initialState) send(event.type, event.content, event.state_key ?? "");
      // 7. name and topic
      if (request.name !== undefined) send("m.room.name", { name: request.name });
      if (request.topic !== undefined) {
        send("m.room.topic", { topic: request.topic, "m.topic": [{ mimetype: "text/plain", body: request.topic }] });
      }
      // 8. invites
      for (const invitee of invitees) invite(hs, roomId, creator, invitee, { isDirect: request.is_direct });
      if (request.visibility === "public") hs.store.rooms.setPublished(roomId, true);
    });
  } catch (error) {
    throw invalidRoomState(error);
  }
  return alias ? { room_id: roomId, room_alias: alias } : { room_id: roomId };
}
