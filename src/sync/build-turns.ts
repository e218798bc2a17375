// /sync answers are built at most BUILDS_PER_TURN per event-loop turn.
//
// One commit wakes every waiting /sync of the room's members, and each woken
// request builds its answer in the same turn: a thousand members made turns of
// 100–400 ms under a steady load, during which no request was read and no
// answer left, so a client whose next request arrived just after a turn began
// waited for two of them and fell a second behind (bench/README.md, sync).
// Builds past the budget wait, in order, for the following turns, and the
// answers of each turn go out at its end. 100: with 200 some clients still fell
// behind now and then; with 50 the last of a thousand members woken by one
// message had it too late (p99 275 ms).
const BUILDS_PER_TURN = 100;

export class BuildTurns {
  private builtThisTurn = 0;
  private turnEndScheduled = false;
  private readonly queue: (() => void)[] = [];
  private queueHead = 0;

  constructor(private readonly perTurn: number) {}

  /**
   * Undefined when a build may run now; else a promise that resolves in the
   * turn in which it may, first come first served. Call it right before
   * building, and build synchronously once it allows.
   */
  next(): Promise<void> | undefined {
    this.scheduleTurnEnd();
    if (this.queue.length === this.queueHead && this.builtThisTurn < this.perTurn) {
      this.builtThisTurn++;
      return undefined;
    }
    return new Promise<void>((resolve) => this.queue.push(resolve));
  }

  /** Builds waiting for a later turn. */
  get waiting(): number {
    return this.queue.length - this.queueHead;
  }

  private scheduleTurnEnd(): void {
    if (this.turnEndScheduled) return;
    this.turnEndScheduled = true;
    setImmediate(() => this.startTurn());
  }

  /** A new turn: the next builds in line may run (in this turn's microtasks). */
  private startTurn(): void {
    this.turnEndScheduled = false;
    const admitted = Math.min(this.perTurn, this.waiting);
    this.builtThisTurn = admitted;
    const start = this.queueHead;
    this.queueHead += admitted;
    const batch = this.queue.slice(start, this.queueHead);
    if (this.queueHead === this.queue.length) {
      // Everyone in line admitted: start the line afresh rather than let it grow.
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead >= 1024 && this.queueHead * 2 >= this.queue.length) {
      // Under a load that never empties the line, drop the admitted part now and then.
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    // The count must go back to zero in a later turn even if nobody asks again.
    if (admitted > 0) this.scheduleTurnEnd();
    for (const go of batch) go();
  }
}

const turns = new BuildTurns(BUILDS_PER_TURN);

/** The server's build turns (see BuildTurns.next). */
export function buildTurn(): Promise<void> | undefined {
  return turns.next();
}
