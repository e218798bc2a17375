// The broadcaster's coalesced notifications: the calls made for one set of
// users in one synchronous run (a group commit's effects) wake its members
// once, at the highest position, before anything else runs.
import { describe, expect, test } from "bun:test";
import { Notifier } from "../../src/sync/notifier";

describe("notifyCoalesced", () => {
  test("wakes each member once, at the highest position, in a microtask", async () => {
    const notifier = new Notifier();
    const woken: [string, number][] = [];
    notifier.wait("@a:x", (position) => woken.push(["@a:x", position]));
    notifier.wait("@b:x", (position) => woken.push(["@b:x", position]));
    const room = new Set(["@a:x", "@b:x"]);
    notifier.notifyCoalesced(room, 10);
    notifier.notifyCoalesced(room, 12);
    notifier.notifyCoalesced(room, 11);
    expect(woken).toEqual([]);
    expect(notifier.nothingSince("@a:x", 10, 0)).toBe(false); // unknown yet counts as "maybe"
    await Promise.resolve();
    expect(woken).toEqual([
      ["@a:x", 12],
      ["@b:x", 12],
    ]);
    expect(notifier.nothingSince("@a:x", 12, 0)).toBe(true);
    expect(notifier.nothingSince("@b:x", 11, 0)).toBe(false);
  });

  test("different sets are each notified, and a later run starts afresh", async () => {
    const notifier = new Notifier();
    const woken: [string, number][] = [];
    for (const user of ["@a:x", "@b:x", "@c:x"]) notifier.wait(user, (position) => woken.push([user, position]));
    notifier.notifyCoalesced(new Set(["@a:x"]), 5);
    notifier.notifyCoalesced(new Set(["@b:x"]), 6);
    await Promise.resolve();
    expect(woken).toEqual([
      ["@a:x", 5],
      ["@b:x", 6],
    ]);
    notifier.notifyCoalesced(new Set(["@c:x"]), 7);
    await Promise.resolve();
    expect(woken).toEqual([
      ["@a:x", 5],
      ["@b:x", 6],
      ["@c:x", 7],
    ]);
  });
});
