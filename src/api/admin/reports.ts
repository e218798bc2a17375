// Synapse's admin API for event reports (GET /_synapse/admin/v1/event_reports
// and /event_reports/{id}), which moderation tools read. Admins only.
import { Elysia, t } from "elysia";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { invalidParam } from "../../http/errors";
import { parseLimit } from "../../http/query";
import { eventReportDetails, listEventReports } from "../../rooms/reports";

export function reportsAdminApi(hs: Homeserver) {
  return new Elysia({ name: "api.admin.reports", seed: hs.instanceId, prefix: "/_synapse/admin/v1" })
    .use(authenticated(hs, { adminOnly: true }))
    .get(
      "/event_reports",
      ({ query }) => {
        const from = parseLimit(query.from) ?? 0;
        const dir = query.dir ?? "b";
        if (dir !== "b" && dir !== "f") throw invalidParam("dir must be 'b' or 'f'");
        // Synapse's default page: 100, newest first.
        return listEventReports(hs, { from, limit: Math.min(parseLimit(query.limit) ?? 100, 1000), newestFirst: dir === "b" });
      },
      { query: t.Object({ from: t.Optional(t.String()), limit: t.Optional(t.String()), dir: t.Optional(t.String()) }) },
    )
    .get(
      "/event_reports/:reportId",
      ({ params }) => {
        if (!/^\d{1,15}$/.test(params.reportId)) throw invalidParam("The report id must be a positive integer");
        return eventReportDetails(hs, Number(params.reportId));
      },
      { params: t.Object({ reportId: t.String() }) },
    );
}
