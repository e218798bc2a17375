// The redaction algorithm of room versions 10 (v9 fragment) and 11 (v11 fragment).
import type { RoomVersionRules } from "./room-versions";

const TOP_LEVEL_V9 = [
  "event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures",
  "depth", "prev_events", "prev_state", "auth_events", "origin", "origin_server_ts", "membership",
];
// v11 no longer keeps `origin`, `membership` and `prev_state`.
const TOP_LEVEL_V11 = [
  "event_id", "type", "room_id", "sender", "state_key", "content", "hashes", "signatures",
  "depth", "prev_events", "auth_events", "origin_server_ts",
];

const CONTENT_V9: Record<string, string[]> = {
  "m.room.member": ["membership", "join_authorised_via_users_server"],
  "m.room.create": ["creator"],
  "m.room.join_rules": ["join_rule", "allow"],
  "m.room.power_levels": ["ban", "events", "events_default", "kick", "redact", "state_default", "users", "users_default"],
  "m.room.history_visibility": ["history_visibility"],
};

const CONTENT_V11: Record<string, string[]> = {
  ...CONTENT_V9,
  "m.room.power_levels": [...CONTENT_V9["m.room.power_levels"]!, "invite"],
  "m.room.redaction": ["redacts"],
};

function pick(object: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) if (Object.hasOwn(object, keys[i]!)) out[keys[i]!] = object[keys[i]!];
  return out;
}

/** The top-level keys an event keeps when redacted under the room version's algorithm. */
function redactionKeepsTopLevel(rules: RoomVersionRules): readonly string[] {
  return rules.redaction === "v11" ? TOP_LEVEL_V11 : TOP_LEVEL_V9;
}

/** What an event of `type` keeps of its content when redacted under the room version's algorithm. */
function redactContent(type: string, content: Record<string, unknown>, rules: RoomVersionRules): Record<string, unknown> {
  const v11 = rules.redaction === "v11";
  if (v11 && type === "m.room.create") return { ...content }; // v11 keeps the entire create content
  const kept = pick(content, (v11 ? CONTENT_V11 : CONTENT_V9)[type] ?? []);
  // v11 keeps third_party_invite.signed of member events.
  const invite = content.third_party_invite as Record<string, unknown> | undefined;
  if (v11 && type === "m.room.member" && invite && typeof invite === "object" && "signed" in invite) {
    kept.third_party_invite = { signed: invite.signed };
  }
  return kept;
}

/** Returns the redacted copy of an event (PDU or client format) under the room version's algorithm. */
export function redactEvent<T extends Record<string, unknown>>(event: T, rules: RoomVersionRules): T {
  const redacted = pick(event, redactionKeepsTopLevel(rules) as string[]);
  redacted.content = redactContent(event.type as string, (event.content ?? {}) as Record<string, unknown>, rules);
  return redacted as T;
}
