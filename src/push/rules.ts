// Push rules as data (spec: Client-Server API, "Push Rules"): the rule kinds,
// the server-default rules in the spec's order, and the checks a client's rule
// must pass before it is stored.
import { MatrixError, invalidParam, missingParam } from "../http/errors";

export const RULE_KINDS = ["override", "content", "room", "sender", "underride"] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

export type PushAction = string | { set_tweak: string; value?: unknown; [key: string]: unknown };

export interface PushCondition {
  kind: string;
  key?: string;
  pattern?: string;
  is?: string;
  value?: unknown;
  [extra: string]: unknown;
}

/** A rule as the spec's PushRule schema shows it (definitions/push_rule.yaml). */
export interface PushRule {
  rule_id: string;
  default: boolean;
  enabled: boolean;
  actions: PushAction[];
  conditions?: PushCondition[];
  pattern?: string;
}

export type Ruleset = Record<RuleKind, PushRule[]>;

export function isRuleKind(kind: string): kind is RuleKind {
  return (RULE_KINDS as readonly string[]).includes(kind);
}

const match = (key: string, pattern: string): PushCondition => ({ kind: "event_match", key, pattern });
const SOUND_DEFAULT = { set_tweak: "sound", value: "default" };
const HIGHLIGHT = { set_tweak: "highlight" };

const rule = (rule_id: string, conditions: PushCondition[], actions: PushAction[], enabled = true): PushRule => ({
  rule_id,
  default: true,
  enabled,
  conditions,
  actions,
});

/**
 * The server-default rules of a user (spec: "Predefined Rules"), in the spec's
 * order. `.m.rule.master` is listed first; it outranks user rules too.
 */
export function defaultRules(userId: string): Ruleset {
  const localpart = userId.slice(1, userId.indexOf(":"));
  return {
    override: [
      rule(".m.rule.master", [], [], false),
      rule(".m.rule.suppress_notices", [match("content.msgtype", "m.notice")], []),
      rule(".m.rule.invite_for_me", [match("type", "m.room.member"), match("content.membership", "invite"), match("state_key", userId)], ["notify", SOUND_DEFAULT]),
      rule(".m.rule.member_event", [match("type", "m.room.member")], []),
      rule(".m.rule.is_user_mention", [{ kind: "event_property_contains", key: "content.m\\.mentions.user_ids", value: userId }], ["notify", SOUND_DEFAULT, HIGHLIGHT]),
      rule(".m.rule.contains_display_name", [{ kind: "contains_display_name" }], ["notify", SOUND_DEFAULT, HIGHLIGHT]),
      rule(
        ".m.rule.is_room_mention",
        [{ kind: "event_property_is", key: "content.m\\.mentions.room", value: true }, { kind: "sender_notification_permission", key: "room" }],
        ["notify", HIGHLIGHT],
      ),
      rule(".m.rule.roomnotif", [match("content.body", "@room"), { kind: "sender_notification_permission", key: "room" }], ["notify", HIGHLIGHT]),
      rule(".m.rule.tombstone", [match("type", "m.room.tombstone"), match("state_key", "")], ["notify", HIGHLIGHT]),
      rule(".m.rule.reaction", [match("type", "m.reaction")], []),
      rule(".m.rule.room.server_acl", [match("type", "m.room.server_acl"), match("state_key", "")], []),
      rule(".m.rule.suppress_edits", [{ kind: "event_property_is", key: "content.m\\.relates_to.rel_type", value: "m.replace" }], []),
    ],
    content: [{ rule_id: ".m.rule.contains_user_name", default: true, enabled: true, pattern: localpart, actions: ["notify", SOUND_DEFAULT, HIGHLIGHT] }],
    room: [],
    sender: [],
    underride: [
      rule(".m.rule.call", [match("type", "m.call.invite")], ["notify", { set_tweak: "sound", value: "ring" }]),
      rule(".m.rule.encrypted_room_one_to_one", [{ kind: "room_member_count", is: "2" }, match("type", "m.room.encrypted")], ["notify", SOUND_DEFAULT]),
      rule(".m.rule.room_one_to_one", [{ kind: "room_member_count", is: "2" }, match("type", "m.room.message")], ["notify", SOUND_DEFAULT]),
      rule(".m.rule.message", [match("type", "m.room.message")], ["notify"]),
      rule(".m.rule.encrypted", [match("type", "m.room.encrypted")], ["notify"]),
    ],
  };
}

/**
 * Checks a rule id given in a path (spec: pushrules.yaml, setPushRule): ids
 * starting with "." are the server's, and "/" and "\" are not allowed.
 */
export function validateUserRuleId(ruleId: string): void {
  if (ruleId === "") throw invalidParam("rule_id must not be empty");
  if (ruleId.startsWith(".")) throw invalidParam("rule_ids starting with '.' are reserved for server-default rules");
  if (ruleId.includes("/") || ruleId.includes("\\")) throw invalidParam("rule_id must not contain '/' or '\\'");
}

/** The historical actions clients and servers MUST ignore (spec: "Historical Actions"). */
const IGNORED_ACTIONS = new Set(["dont_notify", "coalesce"]);

/** Validates an actions array and strips the historical no-op actions. */
export function validateActions(value: unknown): PushAction[] {
  if (!Array.isArray(value)) throw new MatrixError(400, "M_BAD_JSON", "actions must be an array");
  const actions: PushAction[] = [];
  for (const action of value) {
    if (typeof action === "string") {
      if (IGNORED_ACTIONS.has(action)) continue;
      if (action !== "notify") throw invalidParam(`Unknown action ${JSON.stringify(action)}`);
      actions.push(action);
    } else if (typeof action === "object" && action !== null && !Array.isArray(action) && typeof (action as { set_tweak?: unknown }).set_tweak === "string") {
      actions.push(action as PushAction);
    } else {
      throw invalidParam("Each action must be \"notify\" or an object with a string set_tweak");
    }
  }
  return actions;
}

function validateConditions(value: unknown): PushCondition[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new MatrixError(400, "M_BAD_JSON", "conditions must be an array");
  for (const condition of value) {
    if (typeof condition !== "object" || condition === null || Array.isArray(condition) || typeof condition.kind !== "string") {
      throw new MatrixError(400, "M_BAD_JSON", "Each condition must be an object with a string kind");
    }
    // The known kinds need their parameters; unknown kinds are kept and never match (spec: "Conditions").
    const need = (name: string, type: string) => {
      if (typeof condition[name] !== type) throw missingParam(`${condition.kind} conditions need a ${type} ${name}`);
    };
    if (condition.kind === "event_match") {
      need("key", "string");
      need("pattern", "string");
    } else if (condition.kind === "event_property_is" || condition.kind === "event_property_contains") {
      need("key", "string");
      const v = condition.value;
      if (!(v === null || typeof v === "string" || typeof v === "boolean" || (Number.isSafeInteger(v)))) {
        throw invalidParam(`${condition.kind} value must be a string, an integer, a boolean or null`);
      }
    } else if (condition.kind === "room_member_count") {
      need("is", "string");
      if (!/^(==|<|>|>=|<=)?[0-9]+$/.test(condition.is)) throw invalidParam("room_member_count 'is' must be a decimal integer with an optional ==, <, >, >= or <= prefix");
    } else if (condition.kind === "sender_notification_permission") {
      need("key", "string");
    }
  }
  return value as PushCondition[];
}

/** A user rule from a PUT body (spec: pushrules.yaml, setPushRule). `enabled` is the caller's. */
export function userRuleFromBody(kind: RuleKind, ruleId: string, body: Record<string, unknown>): Omit<PushRule, "enabled"> {
  if (body.actions === undefined) throw missingParam("actions is required");
  const actions = validateActions(body.actions);
  const built: Omit<PushRule, "enabled"> = { rule_id: ruleId, default: false, actions };
  if (kind === "override" || kind === "underride") built.conditions = validateConditions(body.conditions);
  if (kind === "content") {
    if (typeof body.pattern !== "string") throw missingParam("content rules need a string pattern");
    built.pattern = body.pattern;
  }
  // room and sender rules are keyed by their id: a room id or a user id.
  if (kind === "room" && !ruleId.startsWith("!")) throw invalidParam("The rule_id of a room rule is a room id");
  if (kind === "sender" && !ruleId.startsWith("@")) throw invalidParam("The rule_id of a sender rule is a user id");
  return built;
}
