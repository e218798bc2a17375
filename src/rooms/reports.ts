// Reporting content (spec: Client-Server API, "Reporting content"): reports of
// events, rooms and users are stored for the server's admins.
import type { Homeserver } from "../homeserver";
import { MatrixError, notFound } from "../http/errors";
import { now } from "../util/time";
import type { ContentReportRow } from "../store/reports";
import { currentMembership, currentStateEvent, loadEvent } from "./room-state";
import { canSeeEvent } from "./visibility";

export interface ReportBody {
  reason?: string;
  score?: number;
}

/**
 * POST /rooms/{roomId}/report/{eventId}. "The caller must be joined to the room
 * to report it"; 404 "The event was not found or you are not joined to the room
 * where the event resides", which also covers events the reporter cannot see, so
 * that a report never reveals whether a hidden event exists.
 */
export function reportEvent(hs: Homeserver, reporter: string, roomId: string, eventId: string, body: ReportBody): void {
  // The score was removed in v1.18; clients still send it, and Synapse checks its range.
  if (body.score !== undefined && (body.score < -100 || body.score > 0)) {
    throw new MatrixError(400, "M_INVALID_PARAM", "score must be an integer from -100 to 0");
  }
  const notVisible = () => notFound("The event was not found or you are not joined to the room.");
  if (!hs.store.rooms.get(roomId) || currentMembership(hs, roomId, reporter) !== "join") throw notVisible();
  const event = loadEvent(hs, eventId);
  if (!event || event.row.roomId !== roomId || !canSeeEvent(hs, reporter, event, true)) throw notVisible();
  hs.store.reports.insert({
    kind: "event",
    reporter,
    roomId,
    eventId,
    targetUserId: event.pdu.sender,
    reason: body.reason ?? null,
    score: body.score ?? null,
    receivedTs: now(),
  });
}

/**
 * POST /rooms/{roomId}/report (v1.13): "The caller is not required to be joined
 * to the room to report it"; 404 for a room this server does not know.
 */
export function reportRoom(hs: Homeserver, reporter: string, roomId: string, reason: string): void {
  if (!hs.store.rooms.get(roomId)) throw notFound("The room was not found.");
  hs.store.reports.insert({ kind: "room", reporter, roomId, reason, receivedTs: now() });
}

/** POST /users/{userId}/report (v1.14): 404 for a user this server does not know. */
export function reportUser(hs: Homeserver, reporter: string, userId: string, reason: string): void {
  if (!hs.store.users.get(userId)) throw notFound("The user was not found.");
  hs.store.reports.insert({ kind: "user", reporter, targetUserId: userId, reason, receivedTs: now() });
}

/** An event report as Synapse's admin API shows it (GET /_synapse/admin/v1/event_reports). */
function eventReportView(hs: Homeserver, report: ContentReportRow) {
  const text = (type: string, key: string) => {
    const value = report.roomId ? currentStateEvent(hs, report.roomId, type, "")?.pdu.content[key] : undefined;
    return typeof value === "string" ? value : null;
  };
  return {
    id: report.id,
    received_ts: report.receivedTs,
    room_id: report.roomId,
    name: text("m.room.name", "name"),
    canonical_alias: text("m.room.canonical_alias", "alias"),
    event_id: report.eventId,
    user_id: report.reporter,
    sender: report.targetUserId,
    reason: report.reason,
    score: report.score,
  };
}

/** A page of event reports for admins; `next_token` is the offset of the next page. */
export function listEventReports(hs: Homeserver, options: { from: number; limit: number; newestFirst: boolean }) {
  const { rows, total } = hs.store.reports.page("event", { offset: options.from, limit: options.limit, newestFirst: options.newestFirst });
  const response: { event_reports: ReturnType<typeof eventReportView>[]; total: number; next_token?: number } = {
    event_reports: rows.map((row) => eventReportView(hs, row)),
    total,
  };
  if (options.from + rows.length < total) response.next_token = options.from + rows.length;
  return response;
}

export function eventReportDetails(hs: Homeserver, id: number) {
  const report = hs.store.reports.get(id);
  if (!report || report.kind !== "event") throw notFound("Event report not found");
  const event = report.eventId ? loadEvent(hs, report.eventId) : undefined;
  return { ...eventReportView(hs, report), event_json: event?.pdu ?? null };
}
