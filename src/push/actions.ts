// Push rules run on every new event (spec: "Server behaviour": "When receiving a
// new event homeservers process push rules for each of the local users in the
// room (excluding the sender)"). Called by appendEvent inside the event's
// transaction, so that "the updated notification count from a new event MUST
// appear in the same /sync response as the event itself".
import type { Homeserver } from "../homeserver";
import type { Pdu } from "../rooms/event-format";
import { currentPowerLevels, loadEvent } from "../rooms/room-state";
import { perInstance } from "../util/per-instance";
import { MAIN_THREAD } from "./counts";
import { EventView, evaluate, type Outcome, type RoomFacts } from "./evaluate";
import { compiledRules } from "./ruleset";

/** Display names of a room's members, dropped whenever a member event is appended there. */
const displayNames = perInstance<string, Map<string, string>>();

function roomDisplayNames(hs: Homeserver, roomId: string): Map<string, string> {
  const cache = displayNames(hs);
  let names = cache.get(roomId);
  if (!names) {
    names = new Map();
    const joined = hs.store.state.members(roomId).filter((m) => m.membership === "join");
    // One query for every member event, not one per member.
    for (const row of hs.store.events.getMany(joined.map((m) => m.eventId))) {
      const name = (JSON.parse(row.pdu) as Pdu).content.displayname;
      if (typeof name === "string" && row.stateKey !== null) names.set(row.stateKey, name);
    }
    if (cache.size > 10_000) cache.clear();
    cache.set(roomId, names);
  }
  return names;
}

/** Forgets cached facts about a room's members (its membership or a display name changed). */
export function forgetRoomMembers(hs: Homeserver, roomId: string): void {
  displayNames(hs).delete(roomId);
}

/**
 * The thread an event belongs to (spec: "Receiving notifications"): follow
 * relations up to 3 hops to an m.thread relation; the thread root itself and
 * events outside threads are in the main timeline.
 */
export function threadOf(hs: Homeserver, content: Record<string, unknown>): string {
  let relation = content["m.relates_to"] as { rel_type?: unknown; event_id?: unknown } | undefined;
  for (let hop = 0; hop < 3 && typeof relation === "object" && relation !== null; hop++) {
    if (typeof relation.event_id !== "string") break;
    if (relation.rel_type === "m.thread") return relation.event_id;
    const parent = loadEvent(hs, relation.event_id);
    relation = parent?.pdu.content["m.relates_to"] as typeof relation;
  }
  return MAIN_THREAD;
}

/** Who the rules run for: joined members but the sender, and the invitee of an invite (for .m.rule.invite_for_me). */
function recipients(hs: Homeserver, pdu: Pdu): Iterable<string> {
  const joined = hs.store.state.joinedMembers(pdu.room_id);
  const invitee = pdu.type === "m.room.member" && pdu.content.membership === "invite" ? pdu.state_key : undefined;
  if (invitee === undefined || joined.has(invitee)) return joined;
  return [...joined, invitee];
}

export interface Notified {
  userId: string;
  actions: unknown[];
  highlight: boolean;
}

/**
 * Evaluates every recipient's rules and records the notifying outcomes;
 * returns the notified users who have pushers (their gateways hear of it).
 */
export function recordPushActions(hs: Homeserver, eventId: string, pdu: Pdu, streamPos: number, replacesState: string | null): Notified[] {
  const roomId = pdu.room_id;
  if (pdu.type === "m.room.member") {
    forgetRoomMembers(hs, roomId);
    // Counts start at the join: what notified the user before (their invite) is not unread in the room.
    const previous = replacesState ? loadEvent(hs, replacesState)?.pdu.content.membership : undefined;
    if (pdu.content.membership === "join" && previous !== "join" && pdu.state_key !== undefined) hs.store.pushActions.clearCounts(pdu.state_key, roomId);
  }
  let senderLevel: number | undefined;
  let powerLevels: ReturnType<typeof currentPowerLevels> | undefined;
  const facts: RoomFacts = {
    memberCount: hs.store.state.joinedMembers(roomId).size,
    senderMayNotify(key) {
      powerLevels ??= currentPowerLevels(hs, roomId);
      senderLevel ??= powerLevels.userLevel(pdu.sender);
      return senderLevel >= powerLevels.notificationLevel(key);
    },
    displayName: (userId) => roomDisplayNames(hs, roomId).get(userId),
  };
  const view = new EventView(pdu, facts);
  const notified: Notified[] = [];
  // Members whose rules gave the same outcome (a shared object per rule) are recorded together.
  const byOutcome = new Map<Outcome, string[]>();
  for (const userId of recipients(hs, pdu)) {
    // "Homeservers MUST NOT notify the Push Gateway for events that the user has sent themselves."
    if (userId === pdu.sender) continue;
    const outcome = evaluate(compiledRules(hs, userId), view);
    if (!outcome?.notify) continue;
    const users = byOutcome.get(outcome);
    if (users) users.push(userId);
    else byOutcome.set(outcome, [userId]);
    if (hs.store.pushers.hasAny(userId)) notified.push({ userId, actions: outcome.actions, highlight: outcome.highlight });
  }
  if (byOutcome.size === 0) return notified;
  // Only notifying events need their thread (a lookup of the related event at most three times).
  const threadId = threadOf(hs, pdu.content);
  for (const [outcome, userIds] of byOutcome) {
    const row = { streamPos, roomId, eventId, threadId, highlight: outcome.highlight, actions: JSON.stringify(outcome.actions), ts: pdu.origin_server_ts };
    hs.store.pushActions.insert(userIds, row);
  }
  return notified;
}
