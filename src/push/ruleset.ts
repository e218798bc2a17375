// A user's push rules (spec: "Push Rules: API", "Push Rules: Events"). The one
// stored copy is the user's m.push_rules global account data: the ruleset as
// clients read it in /sync, user rules and server-default rules alike. Reading
// it merges the server-default rules of this version (so that a new default
// rule reaches existing users) with what the user changed of them (enabled,
// actions). Every change rewrites the document through writeAccountData, which
// gives it a stream position and wakes the user's syncs.
import type { Homeserver } from "../homeserver";
import { MatrixError, invalidParam, notFound } from "../http/errors";
import { getAccountDataRow, writeAccountData } from "../sync/account-data";
import { perInstance } from "../util/per-instance";
import { compileRuleset, evaluate, evaluateDefault, type CompiledRuleset, type EventView, type Outcome } from "./evaluate";
import { RULE_KINDS, defaultRules, isRuleKind, userRuleFromBody, validateActions, validateUserRuleId, type PushAction, type PushRule, type RuleKind, type Ruleset } from "./rules";

export const PUSH_RULES_TYPE = "m.push_rules";

const rulesets = perInstance<string, { ruleset: Ruleset; compiled?: CompiledRuleset; isDefault?: boolean }>();

function emptyRuleset(): Ruleset {
  return { override: [], content: [], room: [], sender: [], underride: [] };
}

/** The stored document's rules, tolerating anything a past version wrote. */
function storedRules(content: unknown): Ruleset {
  const result = emptyRuleset();
  const global = (content as { global?: Record<string, unknown> } | null)?.global;
  if (typeof global !== "object" || global === null) return result;
  for (const kind of RULE_KINDS) {
    const list = global[kind];
    if (!Array.isArray(list)) continue;
    for (const rule of list) {
      if (typeof rule === "object" && rule !== null && typeof rule.rule_id === "string" && Array.isArray(rule.actions)) result[kind].push(rule as PushRule);
    }
  }
  return result;
}

/** The server-default rules with the user's changes to them, and the user's own rules in their order. */
function mergeWithDefaults(userId: string, stored: Ruleset): Ruleset {
  const defaults = defaultRules(userId);
  const merged = emptyRuleset();
  for (const kind of RULE_KINDS) {
    const changed = new Map(stored[kind].filter((rule) => rule.default === true).map((rule) => [rule.rule_id, rule]));
    const serverRules = defaults[kind].map((rule) => {
      const user = changed.get(rule.rule_id);
      if (!user) return rule;
      return { ...rule, enabled: typeof user.enabled === "boolean" ? user.enabled : rule.enabled, actions: user.actions };
    });
    const userRules = stored[kind].filter((rule) => rule.default !== true).map((rule) => ({ ...rule, default: false, enabled: rule.enabled !== false }));
    // .m.rule.master outranks even user rules (spec: "Predefined Rules").
    if (kind === "override") merged.override = [serverRules[0]!, ...userRules, ...serverRules.slice(1)];
    else merged[kind] = [...userRules, ...serverRules];
  }
  return merged;
}

/** The user's effective ruleset (cached until it changes). */
export function userRuleset(hs: Homeserver, userId: string): Ruleset {
  const cache = rulesets(hs);
  let entry = cache.get(userId);
  if (!entry) {
    const row = getAccountDataRow(hs, userId, "", PUSH_RULES_TYPE);
    entry = { ruleset: mergeWithDefaults(userId, storedRules(row ? JSON.parse(row.content) : null)) };
    if (cache.size > 100_000) cache.clear();
    cache.set(userId, entry);
  }
  return entry.ruleset;
}

/** The user's rules compiled for evaluation (cached with the ruleset). */
export function compiledRules(hs: Homeserver, userId: string): CompiledRuleset {
  userRuleset(hs, userId);
  const entry = rulesets(hs).get(userId)!;
  return (entry.compiled ??= compileRuleset(userId, entry.ruleset));
}

/**
 * Whether the user's effective rules are the server defaults unchanged (most
 * users never change them): such users share one evaluation per event.
 */
export function usesDefaultRules(hs: Homeserver, userId: string): boolean {
  userRuleset(hs, userId);
  const entry = rulesets(hs).get(userId)!;
  return (entry.isDefault ??= JSON.stringify(entry.ruleset) === JSON.stringify(defaultRules(userId)));
}

/** The outcome of the user's push rules for the event (null: no rule matched). */
export function outcomeFor(hs: Homeserver, userId: string, view: EventView): (Outcome & { ruleId: string }) | null {
  return usesDefaultRules(hs, userId) ? evaluateDefault(view, userId) : evaluate(compiledRules(hs, userId), view);
}

/** The m.push_rules account data content: {global: ruleset}. */
export function pushRulesContent(hs: Homeserver, userId: string): { global: Ruleset } {
  return { global: userRuleset(hs, userId) };
}

let generation = 0;

/** Changes whenever any user's rules change, so that what was derived from them (per room) is rebuilt. */
export function rulesGeneration(): number {
  return generation;
}

function save(hs: Homeserver, userId: string, ruleset: Ruleset): void {
  rulesets(hs).delete(userId);
  generation++;
  try {
    writeAccountData(hs, userId, "", PUSH_RULES_TYPE, { global: ruleset });
  } finally {
    rulesets(hs).delete(userId);
  }
}

function requireKind(kind: string): RuleKind {
  if (!isRuleKind(kind)) throw invalidParam(`Unknown push rule kind ${JSON.stringify(kind)}`);
  return kind;
}

/** A copy of the ruleset to change (cached rulesets are shared). */
function copy(ruleset: Ruleset): Ruleset {
  return structuredClone(ruleset);
}

export function getRule(hs: Homeserver, userId: string, kind: string, ruleId: string): PushRule {
  const rule = userRuleset(hs, userId)[requireKind(kind)].find((r) => r.rule_id === ruleId);
  if (!rule) throw notFound("The push rule was not found.");
  return rule;
}

/**
 * PUT /pushrules/global/{kind}/{ruleId} (spec: setPushRule): creates or
 * replaces a user rule; `before`/`after` name a user rule of the same kind.
 * A new rule without them becomes the most important user rule of its kind.
 */
export function putRule(hs: Homeserver, userId: string, kind: string, ruleId: string, body: Record<string, unknown>, position: { before?: string; after?: string }): void {
  const ruleKind = requireKind(kind);
  validateUserRuleId(ruleId);
  const ruleset = copy(userRuleset(hs, userId));
  const list = ruleset[ruleKind];
  const existingAt = list.findIndex((r) => r.rule_id === ruleId);
  const rule: PushRule = { ...userRuleFromBody(ruleKind, ruleId, body), enabled: existingAt === -1 ? true : list[existingAt]!.enabled };
  const anchorId = position.before ?? position.after;
  if (anchorId !== undefined) {
    if (anchorId.startsWith(".")) throw invalidParam("A rule cannot be placed relative to a server-default rule");
    if (anchorId === ruleId) throw invalidParam("A rule cannot be placed relative to itself");
    if (!list.some((r) => r.rule_id === anchorId && !r.default)) throw new MatrixError(400, "M_UNKNOWN", `before/after rule not found: ${anchorId}`);
  }
  if (existingAt !== -1 && anchorId === undefined) {
    list[existingAt] = rule;
  } else {
    if (existingAt !== -1) list.splice(existingAt, 1);
    let at: number;
    if (position.before !== undefined) at = list.findIndex((r) => r.rule_id === position.before);
    else if (position.after !== undefined) at = list.findIndex((r) => r.rule_id === position.after) + 1;
    else at = firstUserRuleIndex(ruleKind, list);
    list.splice(at, 0, rule);
  }
  save(hs, userId, ruleset);
}

/** Where the user rules of a kind start (after .m.rule.master for overrides). */
function firstUserRuleIndex(kind: RuleKind, list: PushRule[]): number {
  return kind === "override" && list[0]?.rule_id === ".m.rule.master" ? 1 : 0;
}

/** DELETE: user rules only; server-default rules can be disabled, not deleted. */
export function deleteRule(hs: Homeserver, userId: string, kind: string, ruleId: string): void {
  const ruleKind = requireKind(kind);
  const rule = getRule(hs, userId, ruleKind, ruleId);
  if (rule.default) throw invalidParam("Server-default rules cannot be deleted; disable them instead");
  const ruleset = copy(userRuleset(hs, userId));
  ruleset[ruleKind] = ruleset[ruleKind].filter((r) => r.rule_id !== ruleId);
  save(hs, userId, ruleset);
}

export function setRuleEnabled(hs: Homeserver, userId: string, kind: string, ruleId: string, enabled: boolean): void {
  changeRule(hs, userId, kind, ruleId, (rule) => {
    rule.enabled = enabled;
  });
}

export function setRuleActions(hs: Homeserver, userId: string, kind: string, ruleId: string, actions: unknown): void {
  const valid: PushAction[] = validateActions(actions);
  changeRule(hs, userId, kind, ruleId, (rule) => {
    rule.actions = valid;
  });
}

function changeRule(hs: Homeserver, userId: string, kind: string, ruleId: string, change: (rule: PushRule) => void): void {
  const ruleKind = requireKind(kind);
  getRule(hs, userId, ruleKind, ruleId);
  const ruleset = copy(userRuleset(hs, userId));
  change(ruleset[ruleKind].find((r) => r.rule_id === ruleId)!);
  save(hs, userId, ruleset);
}
