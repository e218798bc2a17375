// What differs between the room versions this server supports (spec: "Room Versions").
// Both use event ids from reference hashes (v4 format) and v2 state resolution.

export interface RoomVersionRules {
  id: string;
  /** v10: m.room.create carries content.creator and the first join is the creator's (auth rule 4.3.1). */
  createHasCreator: boolean;
  /** v11: redactions keep the whole create content, `invite` of power levels, `redacts` of redactions (v11-redactions). */
  redaction: "v9" | "v11";
  /** v11 moves `redacts` of m.room.redaction from the top level into content. */
  redactsInContent: boolean;
}

export const ROOM_VERSIONS: Record<string, RoomVersionRules> = {
  "10": { id: "10", createHasCreator: true, redaction: "v9", redactsInContent: false },
  "11": { id: "11", createHasCreator: false, redaction: "v11", redactsInContent: true },
};

export const DEFAULT_ROOM_VERSION = "11";

export function roomVersionRules(version: string): RoomVersionRules | undefined {
  return Object.hasOwn(ROOM_VERSIONS, version) ? ROOM_VERSIONS[version] : undefined;
}
