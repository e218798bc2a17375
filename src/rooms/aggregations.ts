// Bundled aggregations (spec: Client-Server API, "Aggregations of child
// events"): `unsigned["m.relations"]` on every event served to a client, with
// m.thread (Threading), m.replace (Event replacements) and m.reference
// (Reference relations). Computed for a page of events at once: events known
// to have no such children cost a lookup in memory, the others one indexed
// query per page (plus one for the latest thread events and one for edits,
// when there are any).
import type { Homeserver } from "../homeserver";
import { toClientEvent, toSyncEvent, type ClientEvent, type EventFormat, type Viewer } from "./client-format";
import { relationOf } from "./relations";
import { eventOfRow, type StoredEvent } from "./room-state";
import { canSeeEvent, type ReadBound } from "./visibility";

/** Events in client format, each with its bundled aggregations when it has children. */
export function toClientEventsWithRelations(hs: Homeserver, events: StoredEvent[], viewer: Viewer, bound: ReadBound, withThreads = true, format: EventFormat = "client"): ClientEvent[] {
  const bundles = bundledAggregations(hs, events, viewer, bound, withThreads);
  return events.map((event) => {
    const relations = bundles.get(event.eventId);
    if (!relations && format === "sync") return toSyncEvent(hs, event, viewer);
    const client = toClientEvent(hs, event, viewer, 1, format);
    if (relations) client.unsigned["m.relations"] = relations;
    return client;
  });
}

/**
 * The `m.relations` object of each event of the page that has children the
 * reader may see (children after `bound.untilPos` are not counted).
 * `withThreads`: the latest event of a thread is itself served with its own
 * aggregations ("child events of the latest_event should themselves be
 * aggregated"), one level deep: a thread event cannot be a thread root.
 */
function bundledAggregations(hs: Homeserver, events: StoredEvent[], viewer: Viewer, bound: ReadBound, withThreads: boolean): Map<string, Record<string, unknown>> {
  const bundles = new Map<string, Record<string, unknown>>();
  const parents = events.filter((event) => hs.store.relations.mayHaveBundledChildren(event.row.roomId, event.eventId));
  if (parents.length === 0) return bundles;
  const byId = new Map(parents.map((event) => [event.eventId, event]));
  const aggregates = hs.store.relations.aggregates([...byId.keys()], bound.untilPos, viewer.userId);
  if (aggregates.length === 0) return bundles;
  const bundleOf = (eventId: string) => {
    let bundle = bundles.get(eventId);
    if (!bundle) bundles.set(eventId, (bundle = {}));
    return bundle;
  };

  const threads = withThreads ? aggregates.filter((a) => a.relType === "m.thread") : [];
  const latest = new Map(hs.store.relations.eventsAt(threads.map((a) => a.latestPos)).map((row) => [row.streamPos, eventOfRow(hs, row)]));
  const threadSummaries: { rootId: string; count: number; participated: boolean; latest: StoredEvent }[] = [];
  for (const aggregate of threads) {
    const root = byId.get(aggregate.parent)!;
    const latestEvent = latestVisibleThreadEvent(hs, root, latest.get(aggregate.latestPos), viewer, bound);
    if (!latestEvent) continue;
    // "current_user_participated": the user sent the root or an event of the thread (spec: "Threading").
    const participated = aggregate.participated === 1 || root.row.sender === viewer.userId;
    threadSummaries.push({ rootId: root.eventId, count: aggregate.count, participated, latest: latestEvent });
  }
  if (threadSummaries.length > 0) {
    const latestClient = toClientEventsWithRelations(hs, threadSummaries.map((summary) => summary.latest), viewer, bound, false);
    threadSummaries.forEach((summary, i) => {
      bundleOf(summary.rootId)["m.thread"] = {
        latest_event: latestClient[i],
        count: summary.count,
        current_user_participated: summary.participated,
      };
    });
  }

  const edited = aggregates.filter((a) => a.relType === "m.replace").map((a) => byId.get(a.parent)!).filter(mayBeReplaced);
  for (const [parentId, replacement] of latestReplacements(hs, edited, viewer, bound)) {
    bundleOf(parentId)["m.replace"] = toClientEvent(hs, replacement, viewer);
  }

  for (const aggregate of aggregates) {
    if (aggregate.relType !== "m.reference" || !aggregate.references) continue;
    // "m.reference": {"chunk": [{"event_id": ...}]} (spec: "Server-side aggregation of m.reference relationships").
    bundleOf(aggregate.parent)["m.reference"] = { chunk: aggregate.references.split(" ").map((eventId) => ({ event_id: eventId })) };
  }
  return bundles;
}

/**
 * The newest thread event the reader may see. It is nearly always the newest
 * of all (they see the root and the thread came after it), so the walk back
 * through older thread events happens only where history visibility hides some.
 */
function latestVisibleThreadEvent(hs: Homeserver, root: StoredEvent, newest: StoredEvent | undefined, viewer: Viewer, bound: ReadBound): StoredEvent | undefined {
  if (newest && canSeeEvent(hs, viewer.userId, newest, bound.joinedSince)) return newest;
  let cursor = (newest?.row.streamPos ?? bound.untilPos + 1) - 1;
  for (let examined = 0; examined < 200; examined += 50) {
    const rows = hs.store.relations.children(root.row.roomId, [root.eventId], { relType: "m.thread", fromPos: cursor, toPos: 0, dir: "b", limit: 50 });
    for (const row of rows) {
      const event = eventOfRow(hs, row);
      if (canSeeEvent(hs, viewer.userId, event, bound.joinedSince)) return event;
    }
    if (rows.length < 50) return undefined;
    cursor = rows.at(-1)!.streamPos - 1;
  }
  return undefined;
}

/**
 * Whether an event can have a replacement bundled: not redacted ("If the
 * original event is redacted, any m.replace relationship should not be
 * bundled"), not a state event, not itself a replacement (spec: "Validity of
 * replacement events").
 */
function mayBeReplaced(event: StoredEvent): boolean {
  return !event.row.redactedBy && event.row.stateKey === null && relationOf(event.pdu.content)?.relType !== "m.replace";
}

/**
 * The most recent valid replacement of each parent (spec: "Server-side
 * aggregation of m.replace relationships"). The store gives candidates of the
 * same sender and type, newest first by origin_server_ts then event_id; here
 * the rest of the validity rules: no state_key, and `m.new_content` in an
 * unencrypted replacement (an encrypted one carries it in the ciphertext).
 */
function latestReplacements(hs: Homeserver, parents: StoredEvent[], viewer: Viewer, bound: ReadBound): Map<string, StoredEvent> {
  const chosen = new Map<string, StoredEvent>();
  if (parents.length === 0) return chosen;
  for (const { parent, row } of hs.store.relations.replacementCandidates(parents.map((event) => event.eventId), bound.untilPos)) {
    if (chosen.has(parent) || row.stateKey !== null) continue;
    const candidate = eventOfRow(hs, row);
    const newContent = candidate.pdu.content["m.new_content"];
    if (row.type !== "m.room.encrypted" && (typeof newContent !== "object" || newContent === null || Array.isArray(newContent))) continue;
    if (!canSeeEvent(hs, viewer.userId, candidate, bound.joinedSince)) continue;
    chosen.set(parent, candidate);
  }
  return chosen;
}
