// The request of simplified sliding sync (MSC4186), normalised. Two shapes are in
// use: the one matrix-rust-sdk and Synapse speak at the unstable prefix
// (`ranges`, `required_state` as [type, state_key] pairs with "*", "$LAZY" and
// "$ME", `is_invite`, `pos`/`timeout` in the query), and the MSC's later one
// (`range`, `required_state: {include, exclude, lazy_members}`, `is_invited`,
// `pos`/`timeout` in the body; MSC4186 "Changelog"). Both become the same
// structures here, so the rest of the code knows only one.
import { invalidParam } from "../../http/errors";

/** [type, state_key]; null matches anything (MSC4186 `RequiredStateElement` with a field omitted). */
export type StatePattern = [string | null, string | null];

export interface RequiredState {
  include: StatePattern[];
  exclude: StatePattern[];
  /** Members of the timeline's senders (MSC4186 "Lazy loaded memberships"). */
  lazy: boolean;
}

/** What to send for a room (MSC4186 "room config"). */
export interface RoomConfig {
  timelineLimit: number;
  requiredState: RequiredState;
}

export interface ListFilters {
  isDm?: boolean;
  isInvite?: boolean;
  isEncrypted?: boolean;
  spaces?: string[];
  roomTypes?: (string | null)[];
  notRoomTypes?: (string | null)[];
  tags?: string[];
  notTags?: string[];
}

export interface ListRequest extends RoomConfig {
  /** Inclusive index ranges into the filtered, ordered list; null: every room. */
  ranges: [number, number][] | null;
  filters: ListFilters;
}

export interface ExtensionScope {
  /** List names, or "*" for all; null when the client gave none (all). */
  lists: string[] | null;
  /** Room ids, or "*" for all room subscriptions; null when the client gave none (all). */
  rooms: string[] | null;
}

export interface Extensions {
  toDevice?: { since: number | null; limit: number };
  e2ee?: true;
  accountData?: ExtensionScope;
  receipts?: ExtensionScope;
  typing?: ExtensionScope;
}

export interface SlidingRequest {
  connId: string;
  pos: string | null;
  timeoutMs: number;
  txnId?: string;
  setPresence?: string;
  lists: Map<string, ListRequest>;
  subscriptions: Map<string, RoomConfig>;
  extensions: Extensions;
  /** Everything that decides which rooms and state are sent: equal signatures need no recomputation when nothing happened. */
  signature: string;
}

const MAX_LISTS = 100;
const MAX_TIMELINE_LIMIT = 1000;
const MAX_TIMEOUT_MS = 180_000;
const TO_DEVICE_LIMIT = 100;

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

function stringList(value: unknown, name: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) throw invalidParam(`${name} must be a list of strings`);
  return value;
}

function optionalBool(value: unknown, name: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw invalidParam(`${name} must be a boolean`);
  return value;
}

function roomTypeList(value: unknown, name: string): (string | null)[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string" || item === null)) {
    throw invalidParam(`${name} must be a list of strings or nulls`);
  }
  return value;
}

/**
 * required_state in either shape. In the pair shape "*" is a wildcard, "$ME" the
 * user's own id, and ["m.room.member", "$LAZY"] turns on lazy members (MSC3575).
 */
export function parseRequiredState(value: unknown, userId: string, name: string): RequiredState {
  const result: RequiredState = { include: [], exclude: [], lazy: false };
  if (value === undefined || value === null) return result;
  const key = (stateKey: string | null): string | null => (stateKey === "$ME" ? userId : stateKey);
  if (Array.isArray(value)) {
    for (const pair of value) {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
        throw invalidParam(`${name} must be a list of [type, state_key] pairs`);
      }
      const [type, stateKey] = pair as [string, string];
      if (type === "m.room.member" && stateKey === "$LAZY") {
        result.lazy = true;
        continue;
      }
      result.include.push([type === "*" ? null : type, stateKey === "*" ? null : key(stateKey)]);
    }
    return result;
  }
  if (!isObject(value)) throw invalidParam(`${name} must be a list or an object`);
  const elements = (list: unknown, part: string): StatePattern[] => {
    if (list === undefined || list === null) return [];
    if (!Array.isArray(list) || !list.every(isObject)) throw invalidParam(`${name}.${part} must be a list of objects`);
    return list.map((element) => {
      const { type, state_key: stateKey } = element as { type?: unknown; state_key?: unknown };
      if ((type !== undefined && typeof type !== "string") || (stateKey !== undefined && typeof stateKey !== "string")) {
        throw invalidParam(`${name}.${part}: type and state_key must be strings`);
      }
      return [type ?? null, stateKey === undefined ? null : key(stateKey)];
    });
  };
  result.include = elements(value.include, "include");
  result.exclude = elements(value.exclude, "exclude");
  result.lazy = optionalBool(value.lazy_members, `${name}.lazy_members`) ?? false;
  return result;
}

function parseTimelineLimit(value: unknown, name: string): number {
  if (value === undefined || value === null) return 0;
  if (!Number.isInteger(value) || (value as number) < 0) throw invalidParam(`${name} must be a non-negative integer`);
  return Math.min(value as number, MAX_TIMELINE_LIMIT);
}

function parseRange(value: unknown, name: string): [number, number] {
  if (!Array.isArray(value) || value.length !== 2 || !value.every((n) => Number.isInteger(n) && n >= 0) || value[0] > value[1]) {
    throw invalidParam(`${name} must be [start, end] with 0 <= start <= end`);
  }
  return [value[0], value[1]];
}

function parseFilters(value: unknown, name: string): ListFilters {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw invalidParam(`${name} must be an object`);
  return {
    isDm: optionalBool(value.is_dm, `${name}.is_dm`),
    isInvite: optionalBool(value.is_invite ?? value.is_invited, `${name}.is_invite`),
    isEncrypted: optionalBool(value.is_encrypted, `${name}.is_encrypted`),
    spaces: stringList(value.spaces, `${name}.spaces`),
    roomTypes: roomTypeList(value.room_types, `${name}.room_types`),
    notRoomTypes: roomTypeList(value.not_room_types, `${name}.not_room_types`),
    tags: stringList(value.tags, `${name}.tags`),
    notTags: stringList(value.not_tags, `${name}.not_tags`),
  };
}

function parseList(value: unknown, userId: string, name: string): ListRequest {
  if (!isObject(value)) throw invalidParam(`${name} must be an object`);
  let ranges: [number, number][] | null = null;
  if (value.ranges !== undefined && value.ranges !== null) {
    if (!Array.isArray(value.ranges)) throw invalidParam(`${name}.ranges must be a list of ranges`);
    ranges = value.ranges.map((range, i) => parseRange(range, `${name}.ranges[${i}]`));
  } else if (value.range !== undefined && value.range !== null) {
    ranges = [parseRange(value.range, `${name}.range`)];
  }
  return {
    ranges,
    filters: parseFilters(value.filters, `${name}.filters`),
    timelineLimit: parseTimelineLimit(value.timeline_limit, `${name}.timeline_limit`),
    requiredState: parseRequiredState(value.required_state, userId, `${name}.required_state`),
  };
}

function parseScope(value: Json): ExtensionScope {
  return { lists: stringList(value.lists, "extension lists") ?? null, rooms: stringList(value.rooms, "extension rooms") ?? null };
}

/** An extension is on when its config says `enabled: true`. */
function enabled(value: unknown): value is Json {
  return isObject(value) && value.enabled === true;
}

function parseExtensions(value: unknown): Extensions {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw invalidParam("extensions must be an object");
  const extensions: Extensions = {};
  if (enabled(value.to_device)) {
    const since = value.to_device.since;
    if (since !== undefined && since !== null && (typeof since !== "string" || !/^\d{1,15}$/.test(since))) {
      throw invalidParam("extensions.to_device.since is not a token this server issued");
    }
    const limit = value.to_device.limit;
    extensions.toDevice = {
      since: typeof since === "string" ? Number(since) : null,
      limit: Number.isInteger(limit) && (limit as number) > 0 ? Math.min(limit as number, TO_DEVICE_LIMIT) : TO_DEVICE_LIMIT,
    };
  }
  if (enabled(value.e2ee)) extensions.e2ee = true;
  if (enabled(value.account_data)) extensions.accountData = parseScope(value.account_data);
  if (enabled(value.receipts)) extensions.receipts = parseScope(value.receipts);
  if (enabled(value.typing)) extensions.typing = parseScope(value.typing);
  return extensions;
}

/**
 * Parses body and query into one request; `pos` and `timeout` may be in either
 * (MSC4186 moved them to the body). A body object seen before (the same frozen
 * object for the same text, see parseJsonObjectBody `reuse`: a room list
 * long-polls with one body) gives the lists and configs derived from it for
 * that user before: they are never changed once made.
 */
export function parseSlidingRequest(body: Json, query: { pos?: string; timeout?: string; set_presence?: string }, userId: string): SlidingRequest {
  const connId = body.conn_id ?? "";
  if (typeof connId !== "string" || connId.length > 255) throw invalidParam("conn_id must be a string of at most 255 characters");
  const pos = query.pos ?? body.pos ?? null;
  if (pos !== null && typeof pos !== "string") throw invalidParam("pos must be a string");
  const rawTimeout = query.timeout ?? body.timeout;
  const timeout = rawTimeout === undefined || rawTimeout === null ? 0 : rawTimeout === "" ? NaN : Number(rawTimeout);
  if (!Number.isFinite(timeout) || timeout < 0) throw invalidParam("timeout must be a non-negative number");
  const setPresence = query.set_presence ?? body.set_presence;
  if (setPresence !== undefined && setPresence !== "online" && setPresence !== "offline" && setPresence !== "unavailable") {
    throw invalidParam("set_presence must be online, offline or unavailable");
  }
  // Only a reused body (frozen) comes again; any other is parsed for this request alone.
  let byUser = parsedBodies.get(body);
  let parts = byUser?.get(userId);
  if (!parts) {
    parts = parseBodyParts(body, userId);
    if (Object.isFrozen(body)) {
      if (!byUser) parsedBodies.set(body, (byUser = new Map()));
      if (byUser.size >= MAX_USERS_PER_BODY) byUser.clear();
      byUser.set(userId, parts);
    }
  }
  return { connId, pos, timeoutMs: Math.min(timeout, MAX_TIMEOUT_MS), setPresence: setPresence as string | undefined, ...parts };
}

type BodyParts = Pick<SlidingRequest, "txnId" | "lists" | "subscriptions" | "extensions" | "signature">;
/** By body object, then user ($ME and lazy members depend on who asks); gone with the body. */
const parsedBodies = new WeakMap<object, Map<string, BodyParts>>();
const MAX_USERS_PER_BODY = 10_000;

function parseBodyParts(body: Json, userId: string): BodyParts {
  const lists = new Map<string, ListRequest>();
  if (body.lists !== undefined && body.lists !== null) {
    if (!isObject(body.lists)) throw invalidParam("lists must be an object");
    const entries = Object.entries(body.lists);
    if (entries.length > MAX_LISTS) throw invalidParam(`At most ${MAX_LISTS} lists`);
    for (const [name, list] of entries) lists.set(name, parseList(list, userId, `lists.${name}`));
  }
  const subscriptions = new Map<string, RoomConfig>();
  if (body.room_subscriptions !== undefined && body.room_subscriptions !== null) {
    if (!isObject(body.room_subscriptions)) throw invalidParam("room_subscriptions must be an object");
    for (const [roomId, sub] of Object.entries(body.room_subscriptions)) {
      if (!isObject(sub)) throw invalidParam(`room_subscriptions.${roomId} must be an object`);
      subscriptions.set(roomId, {
        timelineLimit: parseTimelineLimit(sub.timeline_limit, `room_subscriptions.${roomId}.timeline_limit`),
        requiredState: parseRequiredState(sub.required_state, userId, `room_subscriptions.${roomId}.required_state`),
      });
    }
  }
  const extensions = parseExtensions(body.extensions);
  const txnId = typeof body.txn_id === "string" ? body.txn_id : undefined;
  // The to-device cursor is not part of the signature: it moves on every response.
  const signature = JSON.stringify([
    [...lists],
    [...subscriptions],
    { ...extensions, toDevice: extensions.toDevice ? true : undefined },
  ]);
  return { txnId, lists, subscriptions, extensions, signature };
}
