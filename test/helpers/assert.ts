// Assertions shared by the API suites.
import { expect } from "bun:test";
import type { TestResponse, TestServer } from "./server";

/** The spec's standard error response: `status`, and a body whose errcode is `errcode` and error a string. */
export function expectError(response: TestResponse, status: number, errcode: string): void {
  expect({ status: response.status, errcode: response.body?.errcode }).toEqual({ status, errcode });
  expect(response.body.error).toBeString();
}

/** Runs `work` and asserts that it created no account (a failed request leaves the store as it was). */
export async function expectNoNewUsers<T>(server: TestServer, work: () => Promise<T>): Promise<T> {
  const before = server.hs.store.users.count();
  const result = await work();
  expect(server.hs.store.users.count()).toBe(before);
  return result;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
