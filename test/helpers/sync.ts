// /sync helpers shared by the sync and user-data suites: each call is a real
// HTTP request that must succeed, so a suite reads as the scenario it tests.
import { expect } from "bun:test";
import { CLIENT, type User } from "./rooms";
import type { TestServer } from "./server";

export interface SyncOptions {
  since?: string;
  /** A filter object (sent inline as JSON) or an uploaded filter's id. */
  filter?: Record<string, unknown> | string;
  timeout?: number;
  /** Further query parameters (use_state_after, full_state, ...). */
  query?: Record<string, string>;
}

export function syncPath(options: SyncOptions = {}): string {
  const query: Record<string, string> = { ...options.query };
  if (options.since !== undefined) query.since = options.since;
  if (options.filter !== undefined) query.filter = typeof options.filter === "string" ? options.filter : JSON.stringify(options.filter);
  query.timeout = String(options.timeout ?? 0);
  return `${CLIENT}/sync?${new URLSearchParams(query)}`;
}

/** GET /sync that must succeed; returns the body. */
export async function sync(server: TestServer, user: User, options: SyncOptions = {}): Promise<any> {
  const response = await server.request("GET", syncPath(options), { token: user.access_token });
  if (response.status !== 200) throw new Error(`sync: ${response.status} ${JSON.stringify(response.body)}`);
  expect(response.body.next_batch).toBeString();
  return response.body;
}

/** The event ids of a list of client events. */
export const ids = (events: { event_id: string }[]) => events.map((event) => event.event_id);

/** The message bodies of the m.room.message events of a list. */
export const bodies = (events: any[]) => events.filter((event) => event.type === "m.room.message").map((event) => event.content.body);

/** The ephemeral event of `type` in a joined room's section (undefined when absent). */
export function ephemeral(section: any, type: string): any {
  return section?.ephemeral?.events.find((event: any) => event.type === type);
}
