// Filters (spec: Client-Server API, "Filtering"): uploaded once and referred to
// by id, or sent inline as JSON in the `filter` query parameter of /sync.
import type { Homeserver } from "../homeserver";
import { MatrixError, notFound } from "../http/errors";
import { validateRoomEventFilter, type RoomEventFilter } from "../rooms/event-filter";
import { perInstance } from "../util/per-instance";

export interface EventFilter {
  limit?: number;
  types?: string[];
  not_types?: string[];
  senders?: string[];
  not_senders?: string[];
}

export interface RoomFilter {
  rooms?: string[];
  not_rooms?: string[];
  include_leave?: boolean;
  timeline?: RoomEventFilter;
  state?: RoomEventFilter;
  ephemeral?: RoomEventFilter;
  account_data?: RoomEventFilter;
}

export interface Filter {
  event_fields?: string[];
  event_format?: "client" | "federation";
  presence?: EventFilter;
  account_data?: EventFilter;
  room?: RoomFilter;
}

function objectOrEmpty(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new MatrixError(400, "M_INVALID_PARAM", `${name} must be an object`);
  return value as Record<string, unknown>;
}

/** Validates a filter definition (400 M_INVALID_PARAM naming the bad member). */
export function validateFilter(value: unknown): Filter {
  const filter = objectOrEmpty(value, "filter");
  if (filter.event_fields !== undefined) {
    if (!Array.isArray(filter.event_fields) || !filter.event_fields.every((field) => typeof field === "string")) {
      throw new MatrixError(400, "M_INVALID_PARAM", "event_fields must be a list of strings");
    }
  }
  if (filter.event_format !== undefined && filter.event_format !== "client" && filter.event_format !== "federation") {
    throw new MatrixError(400, "M_INVALID_PARAM", "event_format must be 'client' or 'federation'");
  }
  for (const key of ["presence", "account_data"]) if (filter[key] !== undefined) validateRoomEventFilter(filter[key], key);
  const room = objectOrEmpty(filter.room, "room");
  for (const key of ["timeline", "state", "ephemeral", "account_data"]) {
    if (room[key] !== undefined) validateRoomEventFilter(room[key], `room.${key}`);
  }
  for (const key of ["rooms", "not_rooms"]) {
    const list = room[key];
    if (list !== undefined && (!Array.isArray(list) || !list.every((item) => typeof item === "string"))) {
      throw new MatrixError(400, "M_INVALID_PARAM", `room.${key} must be a list of strings`);
    }
  }
  if (room.include_leave !== undefined && typeof room.include_leave !== "boolean") {
    throw new MatrixError(400, "M_INVALID_PARAM", "room.include_leave must be a boolean");
  }
  return filter as Filter;
}

export function uploadFilter(hs: Homeserver, userId: string, definition: unknown): { filter_id: string } {
  const filter = validateFilter(definition);
  return { filter_id: hs.store.filters.insert(userId, JSON.stringify(filter)) };
}

export function getFilter(hs: Homeserver, userId: string, filterId: string): Filter {
  const json = hs.store.filters.get(userId, filterId);
  if (json === undefined) throw notFound("No such filter");
  return JSON.parse(json) as Filter;
}

// Clients send the same filter with every sync: parsed filters are kept by
// (user, parameter). Stored filters never change, so nothing invalidates them.
const parsedFilters = perInstance<string, Filter>();
const PARSED_FILTERS_MAX = 10_000;

/** The `filter` parameter of /sync: inline JSON when it starts with "{", otherwise a filter id. */
export function resolveSyncFilter(hs: Homeserver, userId: string, parameter: string | undefined): Filter {
  if (parameter === undefined || parameter === "") return {};
  const cache = parsedFilters(hs);
  const key = `${userId}\u0000${parameter}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const filter = parseSyncFilter(hs, userId, parameter);
  if (cache.size >= PARSED_FILTERS_MAX) cache.clear();
  cache.set(key, filter);
  return filter;
}

function parseSyncFilter(hs: Homeserver, userId: string, parameter: string): Filter {
  if (parameter.trimStart().startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(parameter);
    } catch {
      throw new MatrixError(400, "M_INVALID_PARAM", "filter is not valid JSON");
    }
    return validateFilter(parsed);
  }
  const json = hs.store.filters.get(userId, parameter);
  if (json === undefined) throw new MatrixError(400, "M_INVALID_PARAM", `Unknown filter id ${parameter}`);
  return JSON.parse(json) as Filter;
}

/** Whether a room passes `room.rooms` / `room.not_rooms`. */
export function roomIncluded(filter: Filter, roomId: string): boolean {
  if (filter.room?.not_rooms?.includes(roomId)) return false;
  if (filter.room?.rooms && !filter.room.rooms.includes(roomId)) return false;
  return true;
}

/** Whether an event type passes a `types` / `not_types` pair (with `*` wildcards). */
export function typeIncluded(filter: EventFilter | undefined, type: string): boolean {
  if (!filter) return true;
  const matches = (patterns: string[]) => patterns.some((p) => (p.endsWith("*") ? type.startsWith(p.slice(0, -1)) : type === p));
  if (filter.not_types && matches(filter.not_types)) return false;
  if (filter.types && !matches(filter.types)) return false;
  return true;
}

/** Keeps only the listed dotted fields of a client event (spec: event_fields). */
export function applyEventFields<T extends Record<string, unknown>>(event: T, fields: string[] | undefined): T {
  if (!fields) return event;
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const path = field.split(/(?<!\\)\./).map((part) => part.replaceAll("\\.", "."));
    let source: unknown = event;
    for (const part of path) source = typeof source === "object" && source !== null ? (source as Record<string, unknown>)[part] : undefined;
    if (source === undefined) continue;
    let target = out;
    for (const part of path.slice(0, -1)) target = (target[part] ??= {}) as Record<string, unknown>;
    target[path.at(-1)!] = source;
  }
  return out as T;
}
