// Server-side key backups (spec: Client-Server API, "Server-side key backups";
// key_backup.yaml).
import { Elysia, t } from "elysia";
import {
  createBackupVersion,
  deleteBackupVersion,
  deleteRoomKeys,
  getBackupVersion,
  getRoomKey,
  getRoomKeys,
  getRoomSessions,
  putRoomKeys,
  updateBackupVersion,
} from "../../e2ee/backup";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";

const JsonObject = t.Record(t.String(), t.Unknown());
/** KeyBackupData (definitions/key_backup_data.yaml). */
const KeyBackupData = t.Object({
  first_message_index: t.Integer({ minimum: 0 }),
  forwarded_count: t.Integer({ minimum: 0 }),
  is_verified: t.Boolean(),
  session_data: JsonObject,
});
/** RoomKeyBackup (definitions/room_key_backup.yaml). */
const RoomKeyBackup = t.Object({ sessions: t.Record(t.String(), KeyBackupData) });
// The spec lists one algorithm; any name is accepted (as Synapse does): the
// server never reads the keys, and clients try newer algorithms under their own names.
const VersionBody = t.Object({ algorithm: t.String({ minLength: 1 }), auth_data: JsonObject });
const VersionQuery = t.Object({ version: t.String() });
const VersionParams = t.Object({ version: t.String() });
const RoomParams = t.Object({ roomId: t.String() });
const SessionParams = t.Object({ roomId: t.String(), sessionId: t.String() });

export function backupApi(hs: Homeserver, prefix: string) {
  return new Elysia({ name: "api.backup", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs))
    .post("/room_keys/version", ({ body, requester }) => createBackupVersion(hs, requester.userId, body), { body: VersionBody })
    .get("/room_keys/version", ({ requester }) => getBackupVersion(hs, requester.userId))
    .get("/room_keys/version/:version", ({ params, requester }) => getBackupVersion(hs, requester.userId, params.version), { params: VersionParams })
    .put("/room_keys/version/:version", ({ params, body, requester }) => updateBackupVersion(hs, requester.userId, params.version, body), {
      params: VersionParams,
      body: t.Object({ algorithm: t.String({ minLength: 1 }), auth_data: JsonObject, version: t.Optional(t.String()) }),
    })
    .delete("/room_keys/version/:version", ({ params, requester }) => deleteBackupVersion(hs, requester.userId, params.version), { params: VersionParams })

    .put("/room_keys/keys", ({ query, body, requester }) => putRoomKeys(hs, requester.userId, query.version, body.rooms), {
      query: VersionQuery,
      body: t.Object({ rooms: t.Record(t.String(), RoomKeyBackup) }),
    })
    .get("/room_keys/keys", ({ query, requester }) => ({ rooms: getRoomKeys(hs, requester.userId, query.version) }), { query: VersionQuery })
    .delete("/room_keys/keys", ({ query, requester }) => deleteRoomKeys(hs, requester.userId, query.version), { query: VersionQuery })

    .put("/room_keys/keys/:roomId", ({ query, params, body, requester }) => putRoomKeys(hs, requester.userId, query.version, { [params.roomId]: body }), {
      query: VersionQuery,
      params: RoomParams,
      body: RoomKeyBackup,
    })
    .get("/room_keys/keys/:roomId", ({ query, params, requester }) => getRoomSessions(hs, requester.userId, query.version, params.roomId), {
      query: VersionQuery,
      params: RoomParams,
    })
    .delete("/room_keys/keys/:roomId", ({ query, params, requester }) => deleteRoomKeys(hs, requester.userId, query.version, params.roomId), {
      query: VersionQuery,
      params: RoomParams,
    })

    .put(
      "/room_keys/keys/:roomId/:sessionId",
      ({ query, params, body, requester }) => putRoomKeys(hs, requester.userId, query.version, { [params.roomId]: { sessions: { [params.sessionId]: body } } }),
      { query: VersionQuery, params: SessionParams, body: KeyBackupData },
    )
    .get("/room_keys/keys/:roomId/:sessionId", ({ query, params, requester }) => getRoomKey(hs, requester.userId, query.version, params.roomId, params.sessionId), {
      query: VersionQuery,
      params: SessionParams,
    })
    .delete(
      "/room_keys/keys/:roomId/:sessionId",
      ({ query, params, requester }) => deleteRoomKeys(hs, requester.userId, query.version, params.roomId, params.sessionId),
      { query: VersionQuery, params: SessionParams },
    );
}
