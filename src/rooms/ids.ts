// Room ids and aliases (spec appendix "Identifier Grammar").
import { MatrixError } from "../http/errors";
import { randomString } from "../util/secrets";

export function newRoomId(serverName: string): string {
  return `!${randomString(18)}:${serverName}`;
}

export function isRoomId(value: string): boolean {
  return /^![^:]+:.+$/.test(value) && Buffer.byteLength(value) <= 255;
}

export function isRoomAlias(value: string): boolean {
  return /^#[^:\s]+:.+$/.test(value) && Buffer.byteLength(value) <= 255;
}

export function isUserId(value: string): boolean {
  return /^@[^:\s]+:[^\s]+$/.test(value) && Buffer.byteLength(value) <= 255;
}

export function serverNameOf(id: string): string {
  return id.slice(id.indexOf(":") + 1);
}

export function requireRoomId(value: string): string {
  if (!isRoomId(value)) throw new MatrixError(400, "M_INVALID_PARAM", `Invalid room id: ${value}`);
  return value;
}

export function requireUserId(value: unknown, what = "user_id"): string {
  if (typeof value !== "string" || !isUserId(value)) throw new MatrixError(400, "M_INVALID_PARAM", `Invalid ${what}: ${String(value)}`);
  return value;
}

/** `room_alias_name` of createRoom: the localpart only. */
export function aliasFromLocalpart(localpart: string, serverName: string): string {
  const alias = `#${localpart}:${serverName}`;
  if (!localpart || /[:\s]/.test(localpart) || !isRoomAlias(alias)) {
    throw new MatrixError(400, "M_INVALID_PARAM", "room_alias_name must be a non-empty localpart without ':' or whitespace");
  }
  return alias;
}
