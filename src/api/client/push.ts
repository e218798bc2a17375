// Push notifications (spec: Client-Server API, "Push Notifications";
// pushrules.yaml, pusher.yaml, notifications.yaml).
import { Elysia, t } from "elysia";
import type { Homeserver } from "../../homeserver";
import { authenticated } from "../../http/auth";
import { parseLimit } from "../../http/query";
import { listNotifications } from "../../push/notifications";
import { listPushers, setPusher } from "../../push/pushers";
import { deleteRule, getRule, pushRulesContent, putRule, setRuleActions, setRuleEnabled } from "../../push/ruleset";

const RulePath = t.Object({ kind: t.String(), ruleId: t.String() });

export function pushApi(hs: Homeserver, prefix: string) {
  return new Elysia({ name: "api.push", seed: `${hs.instanceId}${prefix}`, prefix })
    .use(authenticated(hs, { allowGuests: true }))
    .get("/pushrules/", ({ requester }) => pushRulesContent(hs, requester.userId))
    .get("/pushrules/global/", ({ requester }) => pushRulesContent(hs, requester.userId).global)
    .get("/pushrules/global/:kind/:ruleId", ({ params, requester }) => getRule(hs, requester.userId, params.kind, params.ruleId), { params: RulePath })
    .put(
      "/pushrules/global/:kind/:ruleId",
      ({ params, query, body, requester }) => {
        putRule(hs, requester.userId, params.kind, params.ruleId, body, { before: query.before, after: query.after });
        return {};
      },
      {
        params: RulePath,
        query: t.Object({ before: t.Optional(t.String()), after: t.Optional(t.String()) }),
        body: t.Record(t.String(), t.Unknown()),
      },
    )
    .delete(
      "/pushrules/global/:kind/:ruleId",
      ({ params, requester }) => {
        deleteRule(hs, requester.userId, params.kind, params.ruleId);
        return {};
      },
      { params: RulePath },
    )
    .get("/pushrules/global/:kind/:ruleId/enabled", ({ params, requester }) => ({ enabled: getRule(hs, requester.userId, params.kind, params.ruleId).enabled }), {
      params: RulePath,
    })
    .put(
      "/pushrules/global/:kind/:ruleId/enabled",
      ({ params, body, requester }) => {
        setRuleEnabled(hs, requester.userId, params.kind, params.ruleId, body.enabled);
        return {};
      },
      { params: RulePath, body: t.Object({ enabled: t.Boolean() }) },
    )
    .get("/pushrules/global/:kind/:ruleId/actions", ({ params, requester }) => ({ actions: getRule(hs, requester.userId, params.kind, params.ruleId).actions }), {
      params: RulePath,
    })
    .put(
      "/pushrules/global/:kind/:ruleId/actions",
      ({ params, body, requester }) => {
        setRuleActions(hs, requester.userId, params.kind, params.ruleId, body.actions);
        return {};
      },
      { params: RulePath, body: t.Object({ actions: t.Array(t.Unknown()) }) },
    )
    .get(
      "/notifications",
      ({ query, requester }) => listNotifications(hs, requester.userId, { from: query.from, limit: parseLimit(query.limit), only: query.only }),
      { query: t.Object({ from: t.Optional(t.String()), limit: t.Optional(t.String()), only: t.Optional(t.String()) }) },
    )
    .get("/pushers", ({ requester }) => listPushers(hs, requester.userId))
    .post(
      "/pushers/set",
      ({ body, requester }) => {
        setPusher(hs, requester.userId, requester.deviceId, body);
        return {};
      },
      { body: t.Record(t.String(), t.Unknown()) },
    );
}
