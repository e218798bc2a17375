// Reading m.room.power_levels with the spec's defaults (spec: Client-Server API,
// "m.room.power_levels"): without a power-levels event the creator has 100 and
// everyone else users_default 0; state_default is 50, or 0 when there is no
// power-levels event at all; ban, kick and redact default to 50, invite to 0.
import type { Pdu } from "./event-format";
import type { RoomVersionRules } from "./room-versions";

export interface PowerLevelsView {
  userLevel(userId: string): number;
  /** The required level to send an event of this type (state or not). */
  eventLevel(type: string, isState: boolean): number;
  ban: number;
  kick: number;
  redact: number;
  invite: number;
  /** Level for notifications of a given key (e.g. "room"), default 50. */
  notificationLevel(key: string): number;
}

const asInt = (value: unknown, fallback: number): number => (Number.isInteger(value) ? (value as number) : fallback);

/**
 * The room's creator: `content.creator` of m.room.create up to room version 10,
 * the create event's `sender` from version 11 (v11 "Remove the `creator` property
 * of `m.room.create` events"; auth rule 4.3.1 of each version).
 */
export function roomCreator(create: Pdu | undefined, rules: Pick<RoomVersionRules, "createHasCreator">): string | undefined {
  if (!create) return undefined;
  return rules.createHasCreator ? (create.content.creator as string | undefined) : create.sender;
}

/**
 * `rules` picks who the creator is when there is no power-levels event; without
 * it the create event's sender is taken, which is right for v11 and for every
 * v10 room whose create event names its sender as creator.
 */
export function powerLevelsView(
  powerLevels: Pdu | undefined,
  create: Pdu | undefined,
  rules?: Pick<RoomVersionRules, "createHasCreator">,
): PowerLevelsView {
  const creator = rules ? roomCreator(create, rules) : create?.sender;
  const content = (powerLevels?.content ?? {}) as Record<string, unknown>;
  const users = (content.users ?? {}) as Record<string, unknown>;
  const events = (content.events ?? {}) as Record<string, unknown>;
  const notifications = (content.notifications ?? {}) as Record<string, unknown>;
  const usersDefault = asInt(content.users_default, 0);
  const stateDefault = asInt(content.state_default, powerLevels ? 50 : 0);
  const eventsDefault = asInt(content.events_default, 0);
  return {
    userLevel(userId) {
      if (!powerLevels) return creator !== undefined && creator === userId ? 100 : 0;
      return Object.hasOwn(users, userId) ? asInt(users[userId], usersDefault) : usersDefault;
    },
    eventLevel(type, isState) {
      if (Object.hasOwn(events, type)) return asInt(events[type], isState ? stateDefault : eventsDefault);
      return isState ? stateDefault : eventsDefault;
    },
    ban: asInt(content.ban, 50),
    kick: asInt(content.kick, 50),
    redact: asInt(content.redact, 50),
    invite: asInt(content.invite, 0),
    notificationLevel: (key) => asInt(notifications[key], 50),
  };
}
