// Pushers (spec: Client-Server API, "Client behaviour", pusher.yaml): where a
// user's notifications are sent.
import type { Homeserver } from "../homeserver";
import { MatrixError, invalidParam, missingParam } from "../http/errors";
import type { PusherRow } from "../store/push";

/** The one path a gateway serves notifications on (spec: pusher.yaml, PusherData.url). */
export const NOTIFY_PATH = "/_matrix/push/v1/notify";

export interface PusherBody {
  kind?: unknown;
  app_id?: unknown;
  pushkey?: unknown;
  app_display_name?: unknown;
  device_display_name?: unknown;
  profile_tag?: unknown;
  lang?: unknown;
  data?: unknown;
  append?: unknown;
}

/** A pusher as GET /pushers shows it. */
export function formatPusher(row: PusherRow) {
  return {
    pushkey: row.pushkey,
    kind: row.kind,
    app_id: row.appId,
    app_display_name: row.appDisplayName,
    device_display_name: row.deviceDisplayName,
    ...(row.profileTag !== null ? { profile_tag: row.profileTag } : {}),
    lang: row.lang,
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}

export function listPushers(hs: Homeserver, userId: string) {
  return { pushers: hs.store.pushers.ofUser(userId).map(formatPusher) };
}

/** Checks an http pusher's data: a URL of http(s) on the notify path, and a known format. */
function validateHttpData(data: Record<string, unknown>): void {
  if (typeof data.url !== "string") throw missingParam("http pushers need data.url");
  let url: URL;
  try {
    url = new URL(data.url);
  } catch {
    throw invalidParam("data.url is not a URL");
  }
  // The spec asks for HTTPS; plain HTTP is accepted for gateways on the same host or network, as Synapse does.
  if (url.protocol !== "https:" && url.protocol !== "http:") throw invalidParam("data.url must be an https URL");
  if (url.pathname !== NOTIFY_PATH) throw invalidParam(`data.url must have the path ${NOTIFY_PATH}`);
  if (data.format !== undefined && data.format !== "event_id_only") throw invalidParam("data.format must be \"event_id_only\" when given");
}

/**
 * POST /pushers/set: kind null deletes the (app_id, pushkey) pusher of the
 * user; otherwise it is created or updated, and unless `append` is true the
 * same (app_id, pushkey) of other users is removed.
 */
export function setPusher(hs: Homeserver, userId: string, deviceId: string, body: PusherBody): void {
  const missing = ["kind", "app_id", "pushkey"].filter((key) => !(key in body));
  if (missing.length > 0) throw missingParam(`Missing parameters: ${missing.join(", ")}`);
  if (typeof body.app_id !== "string" || body.app_id === "") throw invalidParam("app_id must be a non-empty string");
  if (typeof body.pushkey !== "string" || body.pushkey === "") throw invalidParam("pushkey must be a non-empty string");
  if (body.app_id.length > 64) throw invalidParam("app_id is at most 64 characters");
  if (Buffer.byteLength(body.pushkey) > 512) throw invalidParam("pushkey is at most 512 bytes");
  const { app_id: appId, pushkey } = body;
  if (body.kind === null) {
    hs.store.transaction(() => hs.store.pushers.delete(appId, pushkey, userId));
    return;
  }
  if (typeof body.kind !== "string") throw invalidParam("kind must be a string or null");
  const required = ["app_display_name", "device_display_name", "lang", "data"].filter((key) => body[key as keyof PusherBody] === undefined);
  if (required.length > 0) throw missingParam(`Missing parameters: ${required.join(", ")}`);
  for (const key of ["app_display_name", "device_display_name", "lang"] as const) {
    if (typeof body[key] !== "string") throw invalidParam(`${key} must be a string`);
  }
  if (body.profile_tag !== undefined && typeof body.profile_tag !== "string") throw invalidParam("profile_tag must be a string");
  if (body.append !== undefined && typeof body.append !== "boolean") throw invalidParam("append must be a boolean");
  const data = body.data;
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw invalidParam("data must be an object");
  if (body.kind === "http") validateHttpData(data as Record<string, unknown>);
  // Email pushers need a validated address bound to the account, which this server has none of (as Synapse answers).
  else if (body.kind === "email") throw new MatrixError(400, "M_THREEPID_NOT_FOUND", "The email address is not bound to this account");
  else throw invalidParam(`Unknown pusher kind ${JSON.stringify(body.kind)}`);

  hs.store.transaction(() => {
    if (body.append !== true) hs.store.pushers.delete(appId, pushkey, null, userId);
    hs.store.pushers.upsert({
      userId,
      appId,
      pushkey,
      kind: body.kind as string,
      appDisplayName: body.app_display_name as string,
      deviceDisplayName: body.device_display_name as string,
      profileTag: (body.profile_tag as string | undefined) ?? null,
      lang: body.lang as string,
      data: JSON.stringify(data),
      deviceId,
      pushkeyTs: Math.floor(Date.now() / 1000),
    });
  });
}
