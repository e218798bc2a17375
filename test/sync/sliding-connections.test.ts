// The in-memory connection store of sliding sync (MSC4186 "Connections"): a pos
// names a snapshot; retries of the latest pos work; older snapshots, extra
// connections of a device and connections beyond the total are dropped, and
// their pos answers M_UNKNOWN_POS.
import { describe, expect, test } from "bun:test";
import { MatrixError } from "../../src/http/errors";
import { ConnectionStore, formatPos, type Snapshot } from "../../src/sync/sliding/connection";

const snapshot = (pos: number, rooms = 0): Omit<Snapshot, "seq"> => ({
  pos,
  typing: 0,
  rooms: new Map(Array.from({ length: rooms }, (_, i) => [`!r${i}:x`, { pos, membership: "join", timelineLimit: 1, stateSignature: "", fields: {}, lazyMembers: new Set<string>() }])),
  listCounts: new Map(),
  signature: "",
});

function unknownPos(work: () => unknown): void {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(MatrixError);
    expect((error as MatrixError).status).toBe(400);
    expect((error as MatrixError).errcode).toBe("M_UNKNOWN_POS");
    return;
  }
  throw new Error("expected M_UNKNOWN_POS");
}

describe("sliding sync connections", () => {
  test("a pos resumes its snapshot, again and again, until a later one is used", () => {
    const store = new ConnectionStore();
    const first = store.save("@a:x", "D", "main", snapshot(5));
    const pos1 = formatPos(first);
    expect(pos1).toBe(`s5_${first.seq}`);
    expect(store.resume("@a:x", "D", "main", pos1)).toBe(first);
    const second = store.save("@a:x", "D", "main", snapshot(6));
    // The client may not have received `second`: pos1 still works.
    expect(store.resume("@a:x", "D", "main", pos1)).toBe(first);
    const third = store.save("@a:x", "D", "main", snapshot(7));
    expect(store.resume("@a:x", "D", "main", formatPos(third))).toBe(third);
    // Having used `third`, the client will not go back.
    unknownPos(() => store.resume("@a:x", "D", "main", pos1));
    unknownPos(() => store.resume("@a:x", "D", "main", formatPos(second)));
  });

  test("a pos belongs to one user, device and conn_id, and must be the exact text", () => {
    const store = new ConnectionStore();
    const saved = store.save("@a:x", "D", "main", snapshot(5));
    const pos = formatPos(saved);
    unknownPos(() => store.resume("@b:x", "D", "main", pos));
    unknownPos(() => store.resume("@a:x", "E", "main", pos));
    unknownPos(() => store.resume("@a:x", "D", "other", pos));
    unknownPos(() => store.resume("@a:x", "D", "main", `s4_${saved.seq}`));
    unknownPos(() => store.resume("@a:x", "D", "main", "nonsense"));
    store.reset("@a:x", "D", "main");
    unknownPos(() => store.resume("@a:x", "D", "main", pos));
  });

  test("at most three snapshots per connection", () => {
    const store = new ConnectionStore();
    const saved = [1, 2, 3, 4].map((n) => store.save("@a:x", "D", "main", snapshot(n)));
    unknownPos(() => store.resume("@a:x", "D", "main", formatPos(saved[0]!)));
    expect(store.resume("@a:x", "D", "main", formatPos(saved[1]!))).toBe(saved[1]!);
  });

  test("at most ten connections per device: the least recently used goes", () => {
    const store = new ConnectionStore();
    const positions = Array.from({ length: 10 }, (_, i) => formatPos(store.save("@a:x", "D", `c${i}`, snapshot(1))));
    // Using c0 makes c1 the least recently used.
    store.resume("@a:x", "D", "c0", positions[0]!);
    store.save("@a:x", "D", "c10", snapshot(1));
    unknownPos(() => store.resume("@a:x", "D", "c1", positions[1]!));
    expect(store.resume("@a:x", "D", "c0", positions[0]!).pos).toBe(1);
    expect(store.resume("@a:x", "D", "c2", positions[2]!).pos).toBe(1);
    // Another device has its own share.
    store.save("@a:x", "E", "c0", snapshot(1));
    expect(store.size).toBe(11);
  });

  test("the rooms tracked over all connections are bounded: the least recently used connections go", () => {
    const store = new ConnectionStore(250);
    const a = formatPos(store.save("@a:x", "D", "main", snapshot(1, 100)));
    const b = formatPos(store.save("@b:x", "D", "main", snapshot(1, 100)));
    store.resume("@a:x", "D", "main", a); // b is now the least recently used
    store.save("@c:x", "D", "main", snapshot(1, 100));
    unknownPos(() => store.resume("@b:x", "D", "main", b));
    expect(store.resume("@a:x", "D", "main", a).pos).toBe(1);
    // A single connection over the bound stays (it is the one in use).
    const big = new ConnectionStore(10);
    const pos = formatPos(big.save("@a:x", "D", "main", snapshot(1, 100)));
    expect(big.resume("@a:x", "D", "main", pos).rooms.size).toBe(100);
  });
});
