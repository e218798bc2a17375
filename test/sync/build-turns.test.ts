// /sync builds are admitted at most N per event-loop turn, in order of arrival
// (sync/build-turns.ts), so that one commit waking a thousand long-polls does
// not keep every other request waiting until all are built.
import { describe, expect, test } from "bun:test";
import { BuildTurns } from "../../src/sync/build-turns";

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A build that waits for its turn, then records its name. */
function builder<T>(turns: BuildTurns, ran: T[]) {
  return async (name: T) => {
    const turn = turns.next();
    if (turn) await turn;
    ran.push(name);
  };
}

describe("build turns", () => {
  test("the first N of a turn build at once; the rest wait for later turns, N per turn, in order", async () => {
    const turns = new BuildTurns(3);
    const ran: string[] = [];
    const build = builder(turns, ran);
    const all = ["a", "b", "c", "d", "e", "f", "g"].map(build);
    // a, b and c were allowed synchronously; their pushes ran in the microtasks of this turn.
    await Promise.resolve();
    expect(ran).toEqual(["a", "b", "c"]);
    expect(turns.waiting).toBe(4);
    await nextTurn();
    expect(ran).toEqual(["a", "b", "c", "d", "e", "f"]);
    await nextTurn();
    expect(ran).toEqual(["a", "b", "c", "d", "e", "f", "g"]);
    await Promise.all(all);
    expect(turns.waiting).toBe(0);
  });

  test("the budget comes back with each turn, even when nothing waited", async () => {
    const turns = new BuildTurns(2);
    expect(turns.next()).toBeUndefined();
    expect(turns.next()).toBeUndefined();
    const third = turns.next();
    expect(third).toBeInstanceOf(Promise);
    await third;
    // The third took a place in this turn: one is left.
    expect(turns.next()).toBeUndefined();
    expect(turns.next()).toBeInstanceOf(Promise);
    await nextTurn();
    await nextTurn();
    expect(turns.next()).toBeUndefined();
    expect(turns.next()).toBeUndefined();
  });

  test("a request arriving while others wait queues behind them", async () => {
    const turns = new BuildTurns(1);
    const order: number[] = [];
    const build = builder(turns, order);
    const first = [build(1), build(2), build(3)];
    await nextTurn();
    // 2 ran in this turn; 4 arrives now, behind 3.
    const late = build(4);
    await Promise.all([...first, late]);
    expect(order).toEqual([1, 2, 3, 4]);
  });
});
