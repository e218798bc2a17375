// Push rules run on every new event (spec: "Server behaviour": "When receiving a
// new event homeservers process push rules for each of the local users in the
// room (excluding the sender)"). Called by appendEvent inside the event's
// transaction, so that "the updated notification count from a new event MUST
// appear in the same /sync response as the event itself".
//
// What most members' rules decide is recorded once for the room (the shared
// outcome); only members whose outcome differs get a row of their own (see
// schema/push.ts), so that the cost of an event does not grow with the room.
import type { Homeserver } from "../homeserver";
import type { Pdu } from "../rooms/event-format";
import { currentPowerLevels, loadEvent } from "../rooms/room-state";
import { perInstance } from "../util/per-instance";
import { MAIN_THREAD } from "./counts";
import { EventView, evaluate, evaluateDefault, leadingWord, localpartOf, type Outcome, type RoomFacts } from "./evaluate";
import { compiledRules, outcomeFor, rulesGeneration, usesDefaultRules } from "./ruleset";
import type { OwnOutcome, PushEvent } from "../store/push";

/** The texts that name members (display names or localparts) by their first word (see occursInBody). */
interface NameIndex {
  byWord: Map<string, string[]>;
  /** Members whose text does not start with a word: always candidates. */
  always: string[];
}

/** What push rule evaluation needs of a room's joined members, kept between events. */
interface RoomMembers {
  /**
   * The joined set it was built from: the state store shares one set per room
   * and makes a new one after a rolled-back transaction, so a different set
   * means that what is kept here may name members who never joined.
   */
  joined: ReadonlySet<string>;
  names: Map<string, string>;
  /** The rules generation the rest was derived for (see rulesGeneration). */
  generation: number;
  /** Joined members on the server-default rules (evaluated together) and the others. */
  defaults: string[];
  custom: string[];
  byName: NameIndex;
  byLocalpart: NameIndex;
}

/** Dropped whenever a member event is appended to the room. */
const roomMembersCache = perInstance<string, RoomMembers>();

function indexNames(texts: Iterable<[string, string]>): NameIndex {
  const index: NameIndex = { byWord: new Map(), always: [] };
  for (const [userId, text] of texts) {
    const word = leadingWord(text);
    if (word === "") {
      index.always.push(userId);
      continue;
    }
    const users = index.byWord.get(word);
    if (users) users.push(userId);
    else index.byWord.set(word, [userId]);
  }
  return index;
}

function roomMembers(hs: Homeserver, roomId: string): RoomMembers {
  const cache = roomMembersCache(hs);
  const joinedSet = hs.store.state.joinedMembers(roomId);
  let members = cache.get(roomId);
  if (!members || members.joined !== joinedSet) {
    const names = new Map<string, string>();
    const joined = hs.store.state.members(roomId).filter((m) => m.membership === "join");
    // One query for every member event, not one per member.
    for (const row of hs.store.events.getMany(joined.map((m) => m.eventId))) {
      const name = (JSON.parse(row.pdu) as Pdu).content.displayname;
      if (typeof name === "string" && row.stateKey !== null) names.set(row.stateKey, name);
    }
    if (cache.size > 10_000) cache.clear();
    members = { joined: joinedSet, names, generation: -1, defaults: [], custom: [], byName: indexNames([]), byLocalpart: indexNames([]) };
    cache.set(roomId, members);
  }
  if (members.generation !== rulesGeneration()) {
    const joined = [...joinedSet];
    members.generation = rulesGeneration();
    members.defaults = joined.filter((userId) => usesDefaultRules(hs, userId));
    members.custom = joined.filter((userId) => !usesDefaultRules(hs, userId));
    members.byName = indexNames([...members.names].filter(([, name]) => name !== ""));
    // A localpart with glob characters is a pattern (content rules are globs): only the regex can tell.
    members.byLocalpart = indexNames(joined.map((userId) => {
      const localpart = localpartOf(userId);
      return [userId, /[*?]/.test(localpart) ? "" : localpart];
    }));
  }
  return members;
}

/** The members a NameIndex gives as candidates for a body of these words. */
function named(index: NameIndex, words: Set<string>): string[] {
  const found = [...index.always];
  for (const word of words) {
    const users = index.byWord.get(word);
    if (users) found.push(...users);
  }
  return found;
}

/** Forgets cached facts about a room's members (its membership or a display name changed). */
export function forgetRoomMembers(hs: Homeserver, roomId: string): void {
  roomMembersCache(hs).delete(roomId);
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

export interface Notified {
  userId: string;
  actions: unknown[];
  highlight: boolean;
}

/**
 * Counting follows membership (spec: "Receiving notifications"): from a join
 * the user's counts start at zero and follow the room's; at a leave they stop.
 * What notified the user before they joined (their invite) is not unread.
 */
function followMembership(hs: Homeserver, pdu: Pdu, replacesState: string | null): void {
  if (pdu.state_key === undefined) return;
  const previous = replacesState ? loadEvent(hs, replacesState)?.pdu.content.membership : undefined;
  const joins = pdu.content.membership === "join";
  if (joins && previous !== "join") hs.store.pushActions.startCounting(pdu.state_key, pdu.room_id);
  else if (!joins && previous === "join") hs.store.pushActions.stopCounting(pdu.state_key, pdu.room_id);
}

/** The same outcome in what a client sees of it (two users' own copies of .m.rule.message, say). */
function sameOutcome(a: Outcome, b: Outcome): boolean {
  return a === b || (a.notify === b.notify && a.highlight === b.highlight && JSON.stringify(a.actions) === JSON.stringify(b.actions));
}

/**
 * The notifying outcome most joined members share, when recording it once
 * costs fewer writes than a row per notified member: every joined member with
 * another outcome then needs a row of their own, and the sender's counter
 * takes the shared outcome back.
 */
function sharedOutcome(groups: Map<Outcome | null, string[]>, senderJoined: boolean): Outcome | null {
  let best: Outcome | null = null;
  let size = 0;
  let recipients = 0;
  let notifying = 0;
  for (const [outcome, users] of groups) {
    recipients += users.length;
    if (!outcome?.notify) continue;
    notifying += users.length;
    if (users.length > size) [best, size] = [outcome, users.length];
  }
  if (!best) return null;
  let covered = 0;
  for (const [outcome, users] of groups) if (outcome && sameOutcome(outcome, best)) covered += users.length;
  const rowsIfShared = 1 + (recipients - covered) + (senderJoined ? 1 : 0);
  return rowsIfShared <= notifying ? best : null;
}

/** Every recipient's outcome for an event (see evaluateRecipients). */
export interface Recipients {
  /** Joined members but the sender, by outcome (null: no rule matched). */
  groups: Map<Outcome | null, string[]>;
  /** Notified recipients who are not joined (the invitee of an invite, for .m.rule.invite_for_me). */
  outsiders: { userId: string; outcome: Outcome }[];
  /** The notified users who have pushers. */
  notified: Notified[];
}

/**
 * Runs every recipient's push rules against the event: the joined members but
 * the sender (spec: "Homeservers MUST NOT notify the Push Gateway for events
 * that the user has sent themselves") and the invitee of an invite. Members on
 * the default rules share one evaluation, in which only the candidates of its
 * user-specific rules (mentioned, named in the body) are tested.
 */
export function evaluateRecipients(hs: Homeserver, pdu: Pdu): Recipients {
  const roomId = pdu.room_id;
  let senderLevel: number | undefined;
  let powerLevels: ReturnType<typeof currentPowerLevels> | undefined;
  const joined = hs.store.state.joinedMembers(roomId);
  const members = roomMembers(hs, roomId);
  const facts: RoomFacts = {
    memberCount: joined.size,
    senderMayNotify(key) {
      powerLevels ??= currentPowerLevels(hs, roomId);
      senderLevel ??= powerLevels.userLevel(pdu.sender);
      return senderLevel >= powerLevels.notificationLevel(key);
    },
    displayName: (userId) => members.names.get(userId),
    namedIn: (words, localparts) => named(localparts ? members.byLocalpart : members.byName, words),
  };
  const view = new EventView(pdu, facts);
  const result: Recipients = { groups: new Map(), outsiders: [], notified: [] };
  const add = (userId: string, outcome: Outcome | null) => {
    const users = result.groups.get(outcome);
    if (users) users.push(userId);
    else result.groups.set(outcome, [userId]);
    if (outcome?.notify && hs.store.pushers.hasAny(userId)) result.notified.push({ userId, actions: outcome.actions, highlight: outcome.highlight });
  };
  for (const userId of members.defaults) if (userId !== pdu.sender) add(userId, evaluateDefault(view, userId));
  for (const userId of members.custom) if (userId !== pdu.sender) add(userId, evaluate(compiledRules(hs, userId), view));
  const invitee = pdu.type === "m.room.member" && pdu.content.membership === "invite" ? pdu.state_key : undefined;
  if (invitee !== undefined && invitee !== pdu.sender && !joined.has(invitee)) {
    const outcome = outcomeFor(hs, invitee, view);
    if (outcome?.notify) {
      result.outsiders.push({ userId: invitee, outcome });
      if (hs.store.pushers.hasAny(invitee)) result.notified.push({ userId: invitee, actions: outcome.actions, highlight: outcome.highlight });
    }
  }
  return result;
}

/**
 * Evaluates every recipient's rules and records the outcomes: the shared one
 * once, the differing ones per user; returns the notified users who have
 * pushers (their gateways hear of it).
 */
export function recordPushActions(hs: Homeserver, eventId: string, pdu: Pdu, streamPos: number, replacesState: string | null): Notified[] {
  const roomId = pdu.room_id;
  if (pdu.type === "m.room.member") {
    forgetRoomMembers(hs, roomId);
    followMembership(hs, pdu, replacesState);
  }
  const joined = hs.store.state.joinedMembers(roomId);
  const { groups, outsiders, notified } = evaluateRecipients(hs, pdu);
  const shared = sharedOutcome(groups, joined.has(pdu.sender));
  const own: OwnOutcome[] = [];
  const ownRow = (userId: string, outcome: Outcome | null, covered: boolean, isJoined: boolean) => {
    const notify = outcome?.notify === true;
    const highlight = notify && outcome!.highlight;
    own.push({
      userId,
      notify,
      highlight,
      actions: notify ? JSON.stringify(outcome!.actions) : "[]",
      notificationsDelta: (notify ? 1 : 0) - (covered ? 1 : 0),
      highlightsDelta: (highlight ? 1 : 0) - (covered && shared!.highlight ? 1 : 0),
      joined: isJoined,
    });
  };
  for (const [outcome, users] of groups) {
    if (shared ? outcome !== null && sameOutcome(outcome, shared) : !outcome?.notify) continue;
    for (const userId of users) ownRow(userId, outcome, shared !== null, true);
  }
  for (const { userId, outcome } of outsiders) ownRow(userId, outcome, false, false);
  if (!shared && own.length === 0) return notified;
  // Only recorded events need their thread (a lookup of the related event at most three times).
  const event: PushEvent = { streamPos, roomId, eventId, threadId: threadOf(hs, pdu.content), ts: pdu.origin_server_ts };
  if (shared) hs.store.pushActions.insertShared(event, shared.highlight, JSON.stringify(shared.actions));
  // The shared outcome covers every joined member, the sender too: the sender's counter takes it back.
  if (shared && joined.has(pdu.sender)) hs.store.pushActions.takeBackFromSender(event, pdu.sender, shared.highlight);
  if (own.length > 0) hs.store.pushActions.insertOwn(event, own);
  return notified;
}
