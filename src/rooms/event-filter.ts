// RoomEventFilter (spec: Client-Server API, "Filtering"): which events a read returns.
import { MatrixError } from "../http/errors";
import type { StoredEvent } from "./room-state";

export interface RoomEventFilter {
  limit?: number;
  types?: string[];
  not_types?: string[];
  senders?: string[];
  not_senders?: string[];
  rooms?: string[];
  not_rooms?: string[];
  contains_url?: boolean;
  lazy_load_members?: boolean;
  include_redundant_members?: boolean;
  /** Per-thread notification counts in /sync (spec: "Filtering", RoomEventFilter). */
  unread_thread_notifications?: boolean;
}

const STRING_LISTS = ["types", "not_types", "senders", "not_senders", "rooms", "not_rooms"] as const;

/** Checks the shape of a filter object; unknown keys are ignored as the spec allows. */
export function validateRoomEventFilter(value: unknown, name = "filter"): RoomEventFilter {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new MatrixError(400, "M_INVALID_PARAM", `${name} must be a JSON object`);
  }
  const filter = value as Record<string, unknown>;
  for (const key of STRING_LISTS) {
    const list = filter[key];
    if (list !== undefined && (!Array.isArray(list) || !list.every((item) => typeof item === "string"))) {
      throw new MatrixError(400, "M_INVALID_PARAM", `${name}.${key} must be a list of strings`);
    }
  }
  if (filter.limit !== undefined && (!Number.isInteger(filter.limit) || (filter.limit as number) < 0)) {
    throw new MatrixError(400, "M_INVALID_PARAM", `${name}.limit must be a non-negative integer`);
  }
  for (const key of ["contains_url", "lazy_load_members", "include_redundant_members", "unread_thread_notifications"]) {
    if (filter[key] !== undefined && typeof filter[key] !== "boolean") {
      throw new MatrixError(400, "M_INVALID_PARAM", `${name}.${key} must be a boolean`);
    }
  }
  return filter as RoomEventFilter;
}

/** Parses the `filter` query parameter of /messages and /context (JSON text). */
export function parseRoomEventFilter(text: string | undefined): RoomEventFilter {
  if (text === undefined || text === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new MatrixError(400, "M_INVALID_PARAM", "filter is not valid JSON");
  }
  return validateRoomEventFilter(parsed);
}

/** `*` at the end of a type pattern matches any suffix (spec: "types"). */
function matchesType(type: string, patterns: string[]): boolean {
  return patterns.some((pattern) => (pattern.endsWith("*") ? type.startsWith(pattern.slice(0, -1)) : type === pattern));
}

export function eventMatchesFilter(event: StoredEvent, filter: RoomEventFilter): boolean {
  const { type, sender, roomId } = event.row;
  if (filter.not_rooms?.includes(roomId)) return false;
  if (filter.rooms && !filter.rooms.includes(roomId)) return false;
  if (filter.not_types && matchesType(type, filter.not_types)) return false;
  if (filter.types && !matchesType(type, filter.types)) return false;
  if (filter.not_senders?.includes(sender)) return false;
  if (filter.senders && !filter.senders.includes(sender)) return false;
  if (filter.contains_url !== undefined && event.row.containsUrl !== filter.contains_url) return false;
  return true;
}
