// POST /rooms/{roomId}/upgrade (spec: Client-Server API, "Room Upgrades", server
// behaviour): a new room with the old one as predecessor and its important state
// copied, a tombstone in the old room, the old room muted, and local aliases moved.
import type { Requester } from "../accounts/credentials";
import type { Homeserver } from "../homeserver";
import { MatrixError, forbidden } from "../http/errors";
import { now } from "../util/time";
import { appendEvent } from "./append";
import { newRoomId } from "./ids";
import { changeMembership } from "./membership";
import { powerLevelsView } from "./power-levels";
import { currentStateEvent } from "./room-state";
import { roomVersionRules } from "./room-versions";

/** State carried into the replacement room (as Synapse copies it). */
const COPIED_STATE = [
  "m.room.join_rules",
  "m.room.history_visibility",
  "m.room.guest_access",
  "m.room.name",
  "m.room.topic",
  "m.room.avatar",
  "m.room.encryption",
  "m.room.server_acl",
  "m.room.related_groups",
  "m.room.pinned_events",
];

export function upgradeRoom(hs: Homeserver, requester: Requester, oldRoomId: string, newVersion: string): { replacement_room: string } {
  const rules = roomVersionRules(newVersion);
  if (!rules) throw new MatrixError(400, "M_UNSUPPORTED_ROOM_VERSION", `Room version ${newVersion} is not supported`);
  const state = (type: string) => currentStateEvent(hs, oldRoomId, type, "");
  const create = state("m.room.create");
  if (!create) throw new MatrixError(404, "M_NOT_FOUND", "Unknown room");
  const oldLevels = state("m.room.power_levels");
  const levels = powerLevelsView(oldLevels?.pdu, create.pdu);
  const userId = requester.userId;
  if (levels.userLevel(userId) < levels.eventLevel("m.room.tombstone", true)) {
    throw forbidden("You don't have permission to upgrade this room");
  }

  const newRoomIdValue = newRoomId(hs.config.server_name);
  hs.store.transaction(() => {
    const lastEventId = hs.store.rooms.get(oldRoomId)!.lastEventId!;
    hs.store.rooms.insert({ roomId: newRoomIdValue, roomVersion: newVersion, creator: userId, createdTs: now() });
    const send = (roomId: string, type: string, content: Record<string, unknown>, stateKey = "") =>
      appendEvent(hs, { roomId, sender: userId, type, stateKey, content });

    const createContent: Record<string, unknown> = {
      room_version: newVersion,
      predecessor: { room_id: oldRoomId, event_id: lastEventId },
    };
    if (rules.createHasCreator) createContent.creator = userId;
    for (const key of ["type", "m.federate"]) if (create.pdu.content[key] !== undefined) createContent[key] = create.pdu.content[key];
    send(newRoomIdValue, "m.room.create", createContent);
    changeMembership(hs, { roomId: newRoomIdValue, sender: userId, target: userId, membership: "join" });

    // The old power levels, with the upgrading user kept at their level (at least able to send state).
    const powerContent = structuredClone(oldLevels?.pdu.content ?? {}) as Record<string, unknown>;
    const users = { ...((powerContent.users as Record<string, number> | undefined) ?? {}) };
    users[userId] = Math.max(levels.userLevel(userId), 100);
    powerContent.users = users;
    send(newRoomIdValue, "m.room.power_levels", powerContent);
    for (const type of COPIED_STATE) {
      const event = state(type);
      if (event) send(newRoomIdValue, type, event.pdu.content);
    }

    // Local aliases and the canonical alias move to the new room.
    for (const alias of hs.store.rooms.aliasesOf(oldRoomId)) {
      hs.store.rooms.deleteAlias(alias);
      hs.store.rooms.insertAlias(alias, newRoomIdValue, userId);
    }
    const canonical = state("m.room.canonical_alias");
    if (canonical && Object.keys(canonical.pdu.content).length > 0) {
      send(newRoomIdValue, "m.room.canonical_alias", canonical.pdu.content);
      send(oldRoomId, "m.room.canonical_alias", {});
    }
    if (hs.store.rooms.get(oldRoomId)!.published) {
      hs.store.rooms.setPublished(oldRoomId, false);
      hs.store.rooms.setPublished(newRoomIdValue, true);
    }

    send(oldRoomId, "m.room.tombstone", { body: "This room has been replaced", replacement_room: newRoomIdValue });
    // Mute the old room: only moderators may speak or invite there now.
    const restricted = structuredClone(oldLevels?.pdu.content ?? {}) as Record<string, unknown>;
    const muteLevel = Math.max(50, ((restricted.users_default as number | undefined) ?? 0) + 1);
    let changed = false;
    for (const key of ["events_default", "invite"]) {
      if (((restricted[key] as number | undefined) ?? 0) < muteLevel) {
        restricted[key] = muteLevel;
        changed = true;
      }
    }
    if (changed && oldLevels) send(oldRoomId, "m.room.power_levels", restricted);
  });
  return { replacement_room: newRoomIdValue };
}
