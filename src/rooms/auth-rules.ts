// The authorization rules of room versions 10 and 11 (spec: content/rooms/v10.md
// and v11.md, "Authorization rules"). Each refusal names the rule it applies so
// clients (403 M_FORBIDDEN) and tests can tell which one fired.
import type { Pdu } from "./event-format";
import { powerLevelsView, roomCreator } from "./power-levels";
import type { RoomVersionRules } from "./room-versions";
import { ROOM_VERSIONS } from "./room-versions";

/** Looks up a state event in the state the event is authorised against. */
export type StateLookup = (type: string, stateKey: string) => Pdu | undefined;

export class AuthRuleError extends Error {
  constructor(
    readonly rule: string,
    reason: string,
  ) {
    super(`${reason} (auth rule ${rule})`);
  }
}

const deny = (rule: string, reason: string): never => {
  throw new AuthRuleError(rule, reason);
};

const POWER_LEVEL_INTEGER_KEYS = ["users_default", "events_default", "state_default", "ban", "redact", "kick", "invite"];
const USER_ID = /^@[^:]+:.+$/;

function serverOf(id: string): string {
  return id.slice(id.indexOf(":") + 1);
}

function membershipOf(state: StateLookup, userId: string): string {
  return (state(`m.room.member`, userId)?.content.membership as string | undefined) ?? "leave";
}

/**
 * The state keys of the auth events an event needs (spec: Server-Server API,
 * "Auth events selection"): create, power levels, the sender's member event, and
 * for member events the target's member event, the join rules (join, invite, knock)
 * and the authorising user's member event of a restricted join.
 */
export function authEventKeys(event: Pick<Pdu, "type" | "sender" | "state_key" | "content">): [string, string][] {
  if (event.type === "m.room.create") return [];
  const keys: [string, string][] = [
    ["m.room.create", ""],
    ["m.room.power_levels", ""],
    ["m.room.member", event.sender],
  ];
  if (event.type === "m.room.member" && event.state_key !== undefined) {
    const membership = event.content.membership;
    keys.push(["m.room.member", event.state_key]);
    if (membership === "join" || membership === "invite" || membership === "knock") keys.push(["m.room.join_rules", ""]);
    const invite = event.content.third_party_invite as { signed?: { token?: unknown } } | undefined;
    if (membership === "invite" && typeof invite?.signed?.token === "string") {
      keys.push(["m.room.third_party_invite", invite.signed.token]);
    }
    const via = event.content.join_authorised_via_users_server;
    if (membership === "join" && typeof via === "string") keys.push(["m.room.member", via]);
  }
  const seen = new Set<string>();
  return keys.filter(([type, key]) => {
    const id = `${type}\u0000${key}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/**
 * Throws AuthRuleError unless `event` is allowed given `state`, the room state
 * before it. `isFirstAfterCreate` says that the event's only prev_event is the
 * m.room.create event (rule 4.3.1). Signature and auth-event checks of rule 2
 * are satisfied by construction for events this server builds from its state.
 */
export function checkAuthRules(event: Pdu, state: StateLookup, rules: RoomVersionRules, isFirstAfterCreate: boolean): void {
  // 1. m.room.create
  if (event.type === "m.room.create") {
    if (event.prev_events.length > 0) deny("1.1", "m.room.create must not have prev_events");
    if (serverOf(event.room_id) !== serverOf(event.sender)) deny("1.2", "room_id and sender must have the same domain");
    const version = event.content.room_version;
    if (version !== undefined && (typeof version !== "string" || !Object.hasOwn(ROOM_VERSIONS, version))) {
      deny("1.3", "unsupported room_version");
    }
    if (rules.createHasCreator && event.content.creator === undefined) deny("1.4", "m.room.create has no creator");
    return;
  }

  // 2.4 (the other checks of rule 2 hold by construction, see above)
  const create = state("m.room.create", "");
  if (!create) deny("2.4", "the room has no m.room.create event");

  // 3. m.federate
  if (create!.content["m.federate"] === false && serverOf(event.sender) !== serverOf(create!.sender)) {
    deny("3", "the room does not federate and the sender is on another server");
  }

  const powerLevels = powerLevelsView(state("m.room.power_levels", ""), create, rules);
  const senderLevel = powerLevels.userLevel(event.sender);
  const senderMembership = membershipOf(state, event.sender);

  // 4. m.room.member
  if (event.type === "m.room.member") {
    checkMembership(event, state, rules, create!, isFirstAfterCreate, powerLevels, senderLevel, senderMembership);
    return;
  }

  // 5.
  if (senderMembership !== "join") deny("5", "the sender is not joined to the room");

  // 6. m.room.third_party_invite
  if (event.type === "m.room.third_party_invite") {
    if (senderLevel < powerLevels.invite) deny("6.1", "the sender's power level is below the invite level");
    return;
  }

  // 7.
  const isState = event.state_key !== undefined;
  if (powerLevels.eventLevel(event.type, isState) > senderLevel) {
    deny("7", `the sender's power level is too low to send ${event.type}`);
  }

  // 8.
  if (isState && event.state_key!.startsWith("@") && event.state_key !== event.sender) {
    deny("8", "state keys starting with @ are reserved for the user they name");
  }

  // 9. m.room.power_levels
  if (event.type === "m.room.power_levels") checkPowerLevels(event, state("m.room.power_levels", ""), senderLevel);

  // 10. allow
}

function checkMembership(
  event: Pdu,
  state: StateLookup,
  rules: RoomVersionRules,
  create: Pdu,
  isFirstAfterCreate: boolean,
  powerLevels: ReturnType<typeof powerLevelsView>,
  senderLevel: number,
  senderMembership: string,
): void {
  const target = event.state_key;
  const membership = event.content.membership;
  // 4.1
  if (target === undefined || typeof membership !== "string") deny("4.1", "member events need a state_key and content.membership");
  const targetMembership = membershipOf(state, target!);
  const targetLevel = powerLevels.userLevel(target!);
  const joinRule = (state("m.room.join_rules", "")?.content.join_rule as string | undefined) ?? "invite";

  // 4.2: join_authorised_via_users_server must be signed by that user's server;
  // events built here are signed by this server only, so only local authorisers are valid.
  const via = event.content.join_authorised_via_users_server;
  if (via !== undefined) {
    // appendEvent checks an event before signing it; it is then signed by its
    // sender's server, this one, so that is the signature an unsigned draft will have.
    const signers = event.signatures ?? { [serverOf(event.sender)]: {} };
    if (typeof via !== "string" || !signers[serverOf(via)]) {
      deny("4.2", "join_authorised_via_users_server is not signed by that user's server");
    }
  }

  switch (membership) {
    case "join": {
      // 4.3.1
      if (isFirstAfterCreate) {
        if (target === roomCreator(create, rules)) return;
      }
      if (event.sender !== target) deny("4.3.2", "users can only set their own membership to join");
      if (senderMembership === "ban") deny("4.3.3", "the user is banned from the room");
      if (joinRule === "invite" || joinRule === "knock") {
        if (targetMembership === "invite" || targetMembership === "join") return;
        deny("4.3.4", "the room is invite-only and the user is not invited");
      }
      if (joinRule === "restricted" || joinRule === "knock_restricted") {
        if (targetMembership === "join" || targetMembership === "invite") return;
        const authoriser = typeof via === "string" ? via : undefined;
        if (!authoriser || membershipOf(state, authoriser) !== "join" || powerLevels.userLevel(authoriser) < powerLevels.invite) {
          deny("4.3.5.2", "the restricted join is not authorised by a user able to invite");
        }
        return;
      }
      if (joinRule === "public") return;
      deny("4.3.7", `the join rule ${JSON.stringify(joinRule)} does not allow joining`);
      return;
    }
    case "invite": {
      if (event.content.third_party_invite !== undefined) {
        // 4.4.1: third-party invites need signatures from an identity server; this
        // server never issues them, so they are refused at the first check that applies.
        if (targetMembership === "ban") deny("4.4.1.1", "the target user is banned");
        deny("4.4.1.8", "third-party invite signatures cannot be verified");
      }
      if (senderMembership !== "join") deny("4.4.2", "the inviter is not joined to the room");
      if (targetMembership === "join" || targetMembership === "ban") {
        deny("4.4.3", `the invited user is already ${targetMembership === "join" ? "joined" : "banned"}`);
      }
      if (senderLevel >= powerLevels.invite) return;
      deny("4.4.5", "the sender's power level is below the invite level");
      return;
    }
    case "leave": {
      if (event.sender === target) {
        if (targetMembership === "invite" || targetMembership === "join" || targetMembership === "knock") return;
        deny("4.5.1", "the user is not in the room");
      }
      if (senderMembership !== "join") deny("4.5.2", "the sender is not joined to the room");
      if (targetMembership === "ban" && senderLevel < powerLevels.ban) deny("4.5.3", "the sender's power level is below the ban level");
      if (senderLevel >= powerLevels.kick && targetLevel < senderLevel) return;
      deny("4.5.5", "the sender's power level is too low to kick this user");
      return;
    }
    case "ban": {
      if (senderMembership !== "join") deny("4.6.1", "the sender is not joined to the room");
      if (senderLevel >= powerLevels.ban && targetLevel < senderLevel) return;
      deny("4.6.3", "the sender's power level is too low to ban this user");
      return;
    }
    case "knock": {
      if (joinRule !== "knock" && joinRule !== "knock_restricted") deny("4.7.1", "the room does not allow knocking");
      if (event.sender !== target) deny("4.7.2", "users can only knock for themselves");
      if (senderMembership !== "ban" && senderMembership !== "invite" && senderMembership !== "join") return;
      deny("4.7.4", `the user is already ${senderMembership === "ban" ? "banned" : senderMembership === "invite" ? "invited" : "joined"}`);
      return;
    }
    default:
      deny("4.8", `unknown membership ${JSON.stringify(membership)}`);
  }
}

function isIntegerMap(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.values(value).every(Number.isInteger);
}

function checkPowerLevels(event: Pdu, previous: Pdu | undefined, senderLevel: number): void {
  const next = event.content;
  // 9.1 – 9.3: shape
  for (const key of POWER_LEVEL_INTEGER_KEYS) {
    if (next[key] !== undefined && !Number.isInteger(next[key])) deny("9.1", `${key} must be an integer`);
  }
  for (const key of ["events", "notifications"]) {
    if (next[key] !== undefined && !isIntegerMap(next[key])) deny("9.2", `${key} must map to integers`);
  }
  if (next.users !== undefined) {
    if (!isIntegerMap(next.users) || !Object.keys(next.users as object).every((id) => USER_ID.test(id))) {
      deny("9.3", "users must map valid user ids to integers");
    }
  }
  // 9.4
  if (!previous) return;
  const old = previous.content;
  // 9.5
  for (const key of POWER_LEVEL_INTEGER_KEYS) {
    if (old[key] === next[key]) continue;
    if (old[key] !== undefined && (old[key] as number) > senderLevel) deny("9.5.1", `cannot change ${key} from above your own level`);
    if (next[key] !== undefined && (next[key] as number) > senderLevel) deny("9.5.2", `cannot set ${key} above your own level`);
  }
  // 9.6, 9.7
  for (const key of ["events", "notifications"]) {
    const before = (old[key] ?? {}) as Record<string, number>;
    const after = (next[key] ?? {}) as Record<string, number>;
    for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
      if (before[name] === after[name]) continue;
      if (name in before && before[name]! > senderLevel) deny("9.6.1", `cannot change ${key}.${name} from above your own level`);
      if (name in after && after[name]! > senderLevel) deny("9.7.1", `cannot set ${key}.${name} above your own level`);
    }
  }
  // 9.8, 9.9
  const before = (old.users ?? {}) as Record<string, number>;
  const after = (next.users ?? {}) as Record<string, number>;
  for (const userId of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (before[userId] === after[userId]) continue;
    if (userId !== event.sender && userId in before && before[userId]! >= senderLevel) {
      deny("9.8.1", `cannot change the level of ${userId}, who is at or above your own level`);
    }
    if (userId in after && after[userId]! > senderLevel) deny("9.9.1", `cannot raise ${userId} above your own level`);
  }
}
