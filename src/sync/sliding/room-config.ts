// Room configs (MSC4186 "Room results"): a room matched by several lists and
// subscriptions gets the superset of their configs ("Combining room configs"),
// and the required_state patterns decide which state events go out.
import type { RoomConfig, StatePattern } from "./request";

const patternKey = ([type, stateKey]: StatePattern) => `${type ?? "\u0001*"}\u0000${stateKey ?? "\u0001*"}`;

/** The superset of two configs: the larger timeline, the union of the state asked for. */
export function combineConfigs(a: RoomConfig, b: RoomConfig): RoomConfig {
  const include = new Map([...a.requiredState.include, ...b.requiredState.include].map((p) => [patternKey(p), p]));
  // An exclusion stands only if both configs make it; otherwise one of them asked for that state.
  const excludedByB = new Set(b.requiredState.exclude.map(patternKey));
  return {
    timelineLimit: Math.max(a.timelineLimit, b.timelineLimit),
    requiredState: {
      include: [...include.values()],
      exclude: a.requiredState.exclude.filter((p) => excludedByB.has(patternKey(p))),
      lazy: a.requiredState.lazy || b.requiredState.lazy,
    },
  };
}

// Derived once per config object: a list's config serves every room of the list.
const signatures = new WeakMap<RoomConfig, string>();
const lookupPlans = new WeakMap<RoomConfig, { type: string; stateKey: string | null }[] | null>();

/** A stable text for the required_state part of a config, to notice when it changes ("Changing room configs"). */
export function requiredStateSignature(config: RoomConfig): string {
  let signature = signatures.get(config);
  if (signature === undefined) {
    const { include, exclude, lazy } = config.requiredState;
    signature = JSON.stringify([include.map(patternKey).sort(), exclude.map(patternKey).sort(), lazy]);
    signatures.set(config, signature);
  }
  return signature;
}

const matches = ([type, stateKey]: StatePattern, eventType: string, eventStateKey: string) =>
  (type === null || type === eventType) && (stateKey === null || stateKey === eventStateKey);

/** Whether the config asks for the state entry (type, stateKey), lazy members aside. */
export function wantsState(config: RoomConfig, type: string, stateKey: string): boolean {
  const { include, exclude } = config.requiredState;
  return include.some((p) => matches(p, type, stateKey)) && !exclude.some((p) => matches(p, type, stateKey));
}

/**
 * The lookups that find the state the config asks for: a (type, state_key) pair,
 * or a type with every state key (state_key null); null when a pattern with any
 * type needs the whole state. Looking up by key or type is much cheaper than
 * reading the whole state of a big room.
 */
export function stateLookups(config: RoomConfig): { type: string; stateKey: string | null }[] | null {
  if (!lookupPlans.has(config)) lookupPlans.set(config, planLookups(config));
  return lookupPlans.get(config)!;
}

function planLookups(config: RoomConfig): { type: string; stateKey: string | null }[] | null {
  const lookups = new Map<string, { type: string; stateKey: string | null }>();
  for (const [type, stateKey] of config.requiredState.include) {
    if (type === null) return null;
    if (stateKey === null) lookups.set(`${type}\u0000*`, { type, stateKey: null });
  }
  for (const [type, stateKey] of config.requiredState.include) {
    if (stateKey !== null && !lookups.has(`${type}\u0000*`)) lookups.set(`${type}\u0000${stateKey}`, { type: type!, stateKey });
  }
  return [...lookups.values()];
}
