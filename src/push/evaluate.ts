// Push rule evaluation (spec: Client-Server API, "Push Rules", "Conditions").
// A user's ruleset is compiled once into closures (cached by the caller); an
// event is wrapped once in an EventView that every member's rules read. Users
// on the unchanged server-default rules (most) share one evaluation per event
// (evaluateDefault): only the conditions that name the user are tested per
// user, and only for the users they may hold for.
import { RULE_KINDS, defaultRules, type PushAction, type PushCondition, type PushRule, type RuleKind, type Ruleset } from "./rules";

/** What the rules may read of the room, computed at most once per event. */
export interface RoomFacts {
  /** Joined members now (spec: room_member_count "the current number of members"). */
  memberCount: number;
  /** The sender's power level and the level `notifications[key]` requires. */
  senderMayNotify(key: string): boolean;
  /** A member's display name in the room (undefined when none). */
  displayName(userId: string): string | undefined;
  /**
   * The members whose display name (`localparts` false) or localpart (true)
   * may occur in a body of these words (see occursInBody): a superset of
   * those it does occur for. Without it, every member is a candidate.
   */
  namedIn?(words: Set<string>, localparts: boolean): Iterable<string>;
}

/**
 * Conditions that read only the event (not the user) get a small number, the
 * same for every user's copy of the condition, so that an EventView can keep
 * their results in an array.
 */
const conditionIds = new Map<string, number>();
function conditionId(key: string): number {
  let id = conditionIds.get(key);
  if (id === undefined) {
    // Unbounded growth would come only from clients inventing endless distinct conditions.
    if (conditionIds.size > 100_000) return Number.MAX_SAFE_INTEGER;
    conditionIds.set(key, (id = conditionIds.size));
  }
  return id;
}

/** One event as the rules see it: property lookups are memoised for all members. */
export class EventView {
  private readonly properties = new Map<string, unknown>();
  readonly encrypted: boolean;
  readonly body: string | undefined;
  constructor(
    readonly event: { type: string; sender: string; room_id: string; content: Record<string, unknown>; state_key?: string },
    readonly room: RoomFacts,
  ) {
    this.encrypted = event.type === "m.room.encrypted";
    this.body = typeof event.content.body === "string" ? event.content.body : undefined;
    const mentions = event.content["m.mentions"];
    this.hasMentions = typeof mentions === "object" && mentions !== null && !Array.isArray(mentions);
  }
  /** The event says whom it mentions (spec: "User and room mentions"). */
  readonly hasMentions: boolean;
  /** What the server-default rules decide for this event (see evaluateDefault). */
  defaultPlan: DefaultPlan | undefined;
  /** Results by condition id (see conditionId): 0 not yet known, 1 true, 2 false. */
  private readonly outcomes: Uint8Array = new Uint8Array(conditionIds.size + 64);
  /**
   * A condition's result for this event, computed once: most conditions (the
   * event's type, msgtype, the room's size) are the same for every member, so
   * a thousand members cost a thousand array reads, not a thousand regex runs.
   */
  once(id: number, test: (view: EventView) => boolean): boolean {
    if (id >= this.outcomes.length) return test(this);
    const known = this.outcomes[id]!;
    if (known !== 0) return known === 1;
    const result = test(this);
    this.outcomes[id] = result ? 1 : 2;
    return result;
  }
  private words: Set<string> | undefined;
  /** The body's words (maximal runs of A-Za-z0-9_), lower-cased; computed once per event. */
  bodyWords(): Set<string> {
    // Split before lower-casing: some non-ASCII letters lower-case to ASCII ones (K, İ) and would join words.
    return (this.words ??= new Set((this.body?.match(/[A-Za-z0-9_]+/g) ?? []).map((word) => word.toLowerCase())));
  }
  private lowered: string | undefined;
  /** The body with its ASCII letters lower-cased and nothing else changed (same length, same positions). */
  asciiLowerBody(): string {
    return (this.lowered ??= (this.body ?? "").replace(/[A-Z]+/g, (run) => run.toLowerCase()));
  }
  property(key: string): unknown {
    if (this.properties.has(key)) return this.properties.get(key);
    let value: unknown = this.event;
    for (const part of propertyPath(key)) {
      value = typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[part] : undefined;
      if (value === undefined) break;
    }
    this.properties.set(key, value);
    return value;
  }
}

export interface Outcome {
  actions: PushAction[];
  notify: boolean;
  highlight: boolean;
}

interface CompiledRule {
  /** Shared by every event the rule decides: read it, do not change it. */
  outcome: Outcome & { ruleId: string };
  matches(view: EventView): boolean;
}

/** A user's compiled rules, in evaluation order, enabled ones only. */
export interface CompiledRuleset {
  userId: string;
  rules: CompiledRule[];
}

/**
 * Splits a dot-separated property path (spec appendix "Dot-separated property
 * paths"): `\.` is a literal dot and `\\` a literal backslash.
 */
export function propertyPath(key: string): string[] {
  let cached = pathCache.get(key);
  if (cached) return cached;
  const parts: string[] = [];
  let current = "";
  for (let i = 0; i < key.length; i++) {
    const c = key[i]!;
    if (c === "\\" && (key[i + 1] === "." || key[i + 1] === "\\")) current += key[++i];
    else if (c === ".") {
      parts.push(current);
      current = "";
    } else current += c;
  }
  parts.push(current);
  cached = parts;
  if (pathCache.size > 10_000) pathCache.clear();
  pathCache.set(key, cached);
  return cached;
}
const pathCache = new Map<string, string[]>();

const WORD = "A-Za-z0-9_";
const regexCache = new Map<string, RegExp>();

const escapeRegex = (text: string) => text.replace(/[.+^${}()|[\]\\*?]/g, "\\$&");

function cachedRegex(cacheKey: string, source: () => string): RegExp {
  let regex = regexCache.get(cacheKey);
  if (!regex) {
    regex = new RegExp(source(), "is");
    if (regexCache.size > 10_000) regexCache.clear();
    regexCache.set(cacheKey, regex);
  }
  return regex;
}

/** Any substring that starts and ends at a word boundary (spec: event_match on content.body). */
const atWordBoundaries = (source: string) => `(?:^|[^${WORD}])${source}(?:[^${WORD}]|$)`;

/**
 * A glob (spec appendix "Glob-style matching": `*` any run, `?` one character)
 * as a case-insensitive regex: over the whole value, or over any substring that
 * starts and ends at a word boundary (content.body and content rules).
 */
export function globRegex(glob: string, wordBoundary: boolean): RegExp {
  return cachedRegex(`${wordBoundary ? "w" : "e"}${glob}`, () => {
    const source = glob.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === "*" ? ".*?" : c === "?" ? "." : `\\${c}`));
    return wordBoundary ? atWordBoundaries(source) : `^${source}$`;
  });
}

/** What the body tests need of a display name or localpart, computed once per text. */
interface TextKey {
  /** Its first word lower-cased when it starts with one (A-Za-z0-9_), else "". */
  word: string;
  /** The text lower-cased when it is all ASCII, else null. */
  asciiLower: string | null;
}
const textKeys = new Map<string, TextKey>();

function textKey(text: string): TextKey {
  let key = textKeys.get(text);
  if (key === undefined) {
    key = { word: /^[A-Za-z0-9_]+/.exec(text)?.[0].toLowerCase() ?? "", asciiLower: /^[\x00-\x7f]*$/.test(text) ? text.toLowerCase() : null };
    if (textKeys.size > 100_000) textKeys.clear();
    textKeys.set(text, key);
  }
  return key;
}

/** The text's first word lower-cased when the text starts with one (A-Za-z0-9_), else "". */
export function leadingWord(text: string): string {
  return textKey(text).word;
}

const isWordCode = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;

/**
 * Whether a literal text occurs in the body at word boundaries, case-
 * insensitively: the same answer as its regex (atWordBoundaries, flags "is"),
 * found without one. First a set lookup: a text starting with a word must find
 * that very word in the body (a non-unicode case-insensitive regex maps no
 * other character to an ASCII letter or digit, and the boundaries end the word
 * on both sides), so most members of a big room cost no search at all. Then,
 * for an ASCII text, a plain search in the body with only its ASCII letters
 * lower-cased, for the same reason; other texts take the regex.
 */
function occursInBody(view: EventView, text: string): boolean {
  const key = textKey(text);
  if (key.word !== "" && !view.bodyWords().has(key.word)) return false;
  if (key.asciiLower === null) return literalRegex(text).test(view.body!);
  const body = view.asciiLowerBody();
  const needle = key.asciiLower;
  for (let at = body.indexOf(needle); at !== -1; at = body.indexOf(needle, at + 1)) {
    const end = at + needle.length;
    if ((at === 0 || !isWordCode(body.charCodeAt(at - 1))) && (end === body.length || !isWordCode(body.charCodeAt(end)))) return true;
  }
  return false;
}

/** A literal text (a display name) at word boundaries, case-insensitively. */
function literalRegex(text: string): RegExp {
  return cachedRegex(`l${text}`, () => atWordBoundaries(escapeRegex(text)));
}

const isScalar = (value: unknown) => value === null || typeof value === "string" || typeof value === "boolean" || Number.isSafeInteger(value);

function memberCountTest(is: string): ((count: number) => boolean) | null {
  const parsed = /^(==|<|>|>=|<=)?([0-9]+)$/.exec(is);
  if (!parsed) return null;
  const n = Number(parsed[2]);
  switch (parsed[1]) {
    case "<": return (c) => c < n;
    case ">": return (c) => c > n;
    case ">=": return (c) => c >= n;
    case "<=": return (c) => c <= n;
    default: return (c) => c === n;
  }
}

/**
 * The user in the server-default rules when they are compiled once for every
 * user (defaultRules(ANY_USER)): a condition that names it, or the content rule
 * on its localpart, is tested per user; every other condition once per event.
 */
const ANY_USER = "@\u0000:\u0000";

export const localpartOf = (userId: string) => userId.slice(1, userId.indexOf(":"));

/**
 * The test of a condition that depends on the user (names the user, or is
 * contains_display_name), taking the user as a parameter; null for conditions
 * that read only the event. `self` is the user the rule belongs to, or ANY_USER.
 */
function userCondition(condition: PushCondition, self: string): ((view: EventView, userId: string) => boolean) | null {
  const key = typeof condition.key === "string" ? condition.key : undefined;
  switch (condition.kind) {
    case "event_match": {
      // A condition naming the user (invite_for_me's state_key).
      if (key === undefined || condition.pattern !== self) return null;
      return (view, userId) => {
        const value = view.property(key);
        return typeof value === "string" && globRegex(userId, key === "content.body").test(value);
      };
    }
    case "event_property_is":
    case "event_property_contains": {
      // is_user_mention names the user.
      if (key === undefined || condition.value !== self) return null;
      const contains = condition.kind === "event_property_contains";
      return (view, userId) => {
        const value = view.property(key);
        if (contains) return Array.isArray(value) && value.some((item) => isScalar(item) && item === userId);
        return value === userId;
      };
    }
    case "contains_display_name":
      // Display names differ between members.
      return (view, userId) => {
        if (view.body === undefined || view.encrypted) return false;
        const name = view.room.displayName(userId);
        return name !== undefined && name !== "" && occursInBody(view, name);
      };
    default:
      return null;
  }
}

/**
 * The users for whom a user-dependent condition (see userCondition) may hold
 * for this event, or null when it may hold for anyone.
 */
function userConditionCandidates(condition: PushCondition, view: EventView): Iterable<string> | null {
  const key = typeof condition.key === "string" ? condition.key : undefined;
  switch (condition.kind) {
    case "event_property_is": {
      const value = key === undefined ? undefined : view.property(key);
      return typeof value === "string" ? [value] : [];
    }
    case "event_property_contains": {
      const value = key === undefined ? undefined : view.property(key);
      return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
    }
    case "contains_display_name":
      if (view.body === undefined || view.encrypted) return [];
      return view.room.namedIn?.(view.bodyWords(), false) ?? null;
    default:
      // event_match on the user id: matched case-insensitively, as a glob; rare (invites).
      return null;
  }
}

/** One condition as a test; unrecognised or malformed conditions never match (spec: "Conditions"). */
function compileCondition(condition: PushCondition, userId: string): (view: EventView) => boolean {
  const own = userCondition(condition, userId);
  if (own) return (view) => own(view, userId);
  const never = () => false;
  const key = typeof condition.key === "string" ? condition.key : undefined;
  switch (condition.kind) {
    case "event_match": {
      if (key === undefined || typeof condition.pattern !== "string") return never;
      const regex = globRegex(condition.pattern, key === "content.body");
      const test = (view: EventView) => {
        const value = view.property(key);
        return typeof value === "string" && regex.test(value);
      };
      const memo = conditionId(`m\u0000${key}\u0000${condition.pattern}`);
      return (view) => view.once(memo, test);
    }
    case "event_property_is":
    case "event_property_contains": {
      if (key === undefined || !isScalar(condition.value)) return never;
      const expected = condition.value;
      const contains = condition.kind === "event_property_contains";
      const test = (view: EventView) => {
        const value = view.property(key);
        if (contains) return Array.isArray(value) && value.some((item) => isScalar(item) && item === expected);
        return value !== undefined && isScalar(value) && value === expected;
      };
      const memo = conditionId(`${condition.kind}\u0000${key}\u0000${JSON.stringify(expected)}`);
      return (view) => view.once(memo, test);
    }
    case "room_member_count": {
      const test = typeof condition.is === "string" ? memberCountTest(condition.is) : null;
      return test ? (view) => test(view.room.memberCount) : never;
    }
    case "sender_notification_permission":
      if (key === undefined) return never;
      const memo = conditionId(`p\u0000${key}`);
      return (view) => view.once(memo, (v) => v.room.senderMayNotify(key));
    default:
      return never;
  }
}

/** Reads the actions: notify, and the highlight tweak (true when given without a value). */
export function outcomeOf(actions: PushAction[]): Outcome {
  let notify = false;
  let highlight = false;
  for (const action of actions) {
    if (action === "notify") notify = true;
    else if (typeof action === "object" && action.set_tweak === "highlight") highlight = action.value !== false;
  }
  return { actions, notify, highlight };
}

/**
 * Rules that find mentions in the body. Since v1.7 they "should only be enabled
 * if the event does not have an m.mentions property" (spec: "Default Override
 * Rules", "Default Content Rules"): with one, the event says whom it mentions.
 */
const BODY_MENTION_RULES = new Set([".m.rule.contains_display_name", ".m.rule.roomnotif", ".m.rule.contains_user_name"]);

function compileRule(kind: RuleKind, rule: PushRule, userId: string): CompiledRule {
  const compiled = compileMatch(kind, rule, userId);
  if (rule.default && BODY_MENTION_RULES.has(rule.rule_id)) {
    const inner = compiled.matches;
    compiled.matches = (view) => !view.hasMentions && inner(view);
  }
  return compiled;
}

function compileMatch(kind: RuleKind, rule: PushRule, userId: string): CompiledRule {
  let matches: (view: EventView) => boolean;
  if (kind === "room") matches = (view) => view.event.room_id === rule.rule_id;
  else if (kind === "sender") matches = (view) => view.event.sender === rule.rule_id;
  else if (kind === "content") {
    // Content rules match content.body; an encrypted event has none to match.
    const regex = typeof rule.pattern === "string" ? globRegex(rule.pattern, true) : null;
    // Content patterns are mostly the users' own (their localparts): not shared between members.
    matches = (view) => regex !== null && view.body !== undefined && !view.encrypted && regex.test(view.body);
  } else {
    const tests = (rule.conditions ?? []).map((condition) => compileCondition(condition, userId));
    matches = (view) => {
      for (const test of tests) if (!test(view)) return false;
      return true;
    };
  }
  return { outcome: { ...outcomeOf(rule.actions), ruleId: rule.rule_id }, matches };
}

/** Compiles a ruleset (already in priority order per kind) into one list. */
export function compileRuleset(userId: string, ruleset: Ruleset): CompiledRuleset {
  const rules: CompiledRule[] = [];
  for (const kind of ["override", "content", "room", "sender", "underride"] as const) {
    for (const rule of ruleset[kind]) if (rule.enabled) rules.push(compileRule(kind, rule, userId));
  }
  return { userId, rules };
}

/**
 * The first enabled rule that matches decides (spec: "Push Rules": "Only
 * actions for highest priority rule"); null when none matches.
 */
export function evaluate(compiled: CompiledRuleset, view: EventView): (Outcome & { ruleId: string }) | null {
  for (const rule of compiled.rules) if (rule.matches(view)) return rule.outcome;
  return null;
}

/**
 * A server-default rule split in two: what reads only the event (tested once
 * per event) and what depends on the user (tested per user, null when nothing does).
 */
interface TemplateRule {
  outcome: Outcome & { ruleId: string };
  shared: (view: EventView) => boolean;
  own: ((view: EventView, userId: string) => boolean) | null;
  /** The users `own` may hold for (null: anyone). */
  candidates: (view: EventView) => Iterable<string> | null;
}

function templateRule(kind: RuleKind, rule: PushRule): TemplateRule {
  const outcome = { ...outcomeOf(rule.actions), ruleId: rule.rule_id };
  const bodyMention = BODY_MENTION_RULES.has(rule.rule_id);
  if (kind === "content") {
    // .m.rule.contains_user_name, on the user's localpart (spec: "Default Content Rules").
    return {
      outcome,
      shared: (view) => !(bodyMention && view.hasMentions) && view.body !== undefined && !view.encrypted,
      own: (view, userId) => {
        const localpart = localpartOf(userId);
        // Glob characters make the pattern more than a literal; then only the regex can tell.
        if (localpart.includes("*") || localpart.includes("?")) return globRegex(localpart, true).test(view.body!);
        return occursInBody(view, localpart);
      },
      candidates: (view) => view.room.namedIn?.(view.bodyWords(), true) ?? null,
    };
  }
  const shared: ((view: EventView) => boolean)[] = [];
  const own: ((view: EventView, userId: string) => boolean)[] = [];
  const ownConditions: PushCondition[] = [];
  for (const condition of rule.conditions ?? []) {
    const test = userCondition(condition, ANY_USER);
    if (test) {
      own.push(test);
      ownConditions.push(condition);
    } else shared.push(compileCondition(condition, ANY_USER));
  }
  return {
    outcome,
    shared: (view) => !(bodyMention && view.hasMentions) && shared.every((test) => test(view)),
    own: own.length === 0 ? null : (view, userId) => own.every((test) => test(view, userId)),
    // All of a rule's conditions must hold: the candidates of its first are enough.
    candidates: (view) => (ownConditions.length === 0 ? null : userConditionCandidates(ownConditions[0]!, view)),
  };
}

let template: TemplateRule[] | undefined;

/** The server-default rules, enabled ones, in evaluation order, compiled once for everyone. */
function defaultTemplate(): TemplateRule[] {
  if (!template) {
    const rules = defaultRules(ANY_USER);
    template = RULE_KINDS.flatMap((kind) => rules[kind].filter((rule) => rule.enabled).map((rule) => templateRule(kind, rule)));
  }
  return template;
}

/**
 * What the default rules decide for an event, for any user: the rules whose
 * event part matches up to the first that needs no user (its outcome is
 * everyone's fallback); per user only those rules' user parts are tested.
 */
export interface DefaultPlan {
  checks: { own: (view: EventView, userId: string) => boolean; outcome: Outcome & { ruleId: string } }[];
  fallback: (Outcome & { ruleId: string }) | null;
  /** The only users for whom a check may hold (null: anyone); all others get `fallback`. */
  candidates: Set<string> | null;
}

function planDefault(view: EventView): DefaultPlan {
  const checks: DefaultPlan["checks"] = [];
  let candidates: Set<string> | null = new Set();
  let fallback: DefaultPlan["fallback"] = null;
  for (const rule of defaultTemplate()) {
    if (!rule.shared(view)) continue;
    if (!rule.own) {
      fallback = rule.outcome;
      break;
    }
    checks.push({ own: rule.own, outcome: rule.outcome });
    const some = candidates && rule.candidates(view);
    if (some) for (const userId of some) candidates!.add(userId);
    else candidates = null;
  }
  return { checks, fallback, candidates };
}

/** What the default rules decide for this event (computed once per event). */
function defaultPlan(view: EventView): DefaultPlan {
  return (view.defaultPlan ??= planDefault(view));
}

/**
 * The same as evaluate() with the user's rules when they are the server
 * defaults unchanged, at the cost of the user-specific tests only: a
 * thousand members cost a thousand display name and localpart tests, not a
 * thousand walks through twenty rules.
 */
export function evaluateDefault(view: EventView, userId: string): (Outcome & { ruleId: string }) | null {
  const plan = defaultPlan(view);
  if (plan.candidates !== null && !plan.candidates.has(userId)) return plan.fallback;
  for (const check of plan.checks) if (check.own(view, userId)) return check.outcome;
  return plan.fallback;
}
