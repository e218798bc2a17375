// Per-connection state of sliding sync (MSC4186 "Connections"), in memory. A
// connection is (user, device, conn_id); each response's `pos` names a snapshot
// of what the connection has been sent so far, so the next response carries only
// changes. A client may retry with the same `pos` (it cannot know the answer
// arrived), so a snapshot is kept until a later one is used; "once a server has
// seen a request with a given pos, [it] may clean up any per-connection state
// from before that pos". Everything is bounded: connections per device, in
// total, snapshots per connection, and rooms tracked over all connections; what
// falls out answers M_UNKNOWN_POS and the client starts the connection afresh.
import type { Homeserver } from "../../homeserver";
import { MatrixError } from "../../http/errors";

/** What a connection has been sent of one room. Never changed once made: snapshots share them. */
export interface RoomSent {
  /** The room's events up to this stream position have been dealt with. */
  pos: number;
  membership: string;
  timelineLimit: number;
  /** requiredStateSignature() of the config the state was sent with. */
  stateSignature: string;
  /** The last value sent of each room field (name, counts, ...), as JSON text. */
  fields: Readonly<Record<string, string>>;
  /** Members sent because of lazy loading. */
  lazyMembers: ReadonlySet<string>;
}

export interface Snapshot {
  seq: number;
  /** Stream position the response was built at. */
  pos: number;
  typing: number;
  rooms: ReadonlyMap<string, RoomSent>;
  /** count of each list, as last sent. */
  listCounts: ReadonlyMap<string, number>;
  /** The request signature the snapshot answered (see SlidingRequest.signature). */
  signature: string;
}

interface Connection {
  snapshots: Snapshot[];
  /** Rooms its newest snapshot tracks (snapshots share most of their entries). */
  rooms: number;
}

const MAX_CONNECTIONS_PER_DEVICE = 10;
const MAX_CONNECTIONS = 20_000;
const MAX_SNAPSHOTS = 3;
/** Rooms tracked over all connections (a few hundred bytes each): the memory bound that counts. */
const MAX_TRACKED_ROOMS = 1_000_000;

export class ConnectionStore {
  /** By "user\0device\0conn_id", least recently used first (Map keeps insertion order). */
  private readonly connections = new Map<string, Connection>();
  private readonly perDevice = new Map<string, Set<string>>();
  private nextSeq = 1;
  private trackedRooms = 0;

  constructor(private readonly maxTrackedRooms = MAX_TRACKED_ROOMS) {}

  private static key(userId: string, deviceId: string, connId: string): string {
    return `${userId}\u0000${deviceId}\u0000${connId}`;
  }

  /** The snapshot `pos` names; 400 M_UNKNOWN_POS when the server no longer has it. */
  resume(userId: string, deviceId: string, connId: string, pos: string): Snapshot {
    const key = ConnectionStore.key(userId, deviceId, connId);
    const connection = this.connections.get(key);
    const seq = parsePos(pos);
    const snapshot = connection?.snapshots.find((s) => s.seq === seq);
    if (!connection || !snapshot || formatPos(snapshot) !== pos) {
      throw new MatrixError(400, "M_UNKNOWN_POS", "Unknown position; start the connection again without pos");
    }
    // The client has the snapshot it names: older ones are no longer needed.
    connection.snapshots = connection.snapshots.filter((s) => s.seq >= seq);
    this.touch(key, connection);
    return snapshot;
  }

  /** A request without `pos` starts the connection afresh (MSC4186: initial sync). */
  reset(userId: string, deviceId: string, connId: string): void {
    this.drop(ConnectionStore.key(userId, deviceId, connId));
  }

  /** Records a new snapshot for the connection and returns it with its seq. */
  save(userId: string, deviceId: string, connId: string, snapshot: Omit<Snapshot, "seq">): Snapshot {
    const key = ConnectionStore.key(userId, deviceId, connId);
    const saved = { ...snapshot, seq: this.nextSeq++ };
    let connection = this.connections.get(key);
    if (!connection) {
      connection = { snapshots: [], rooms: 0 };
      this.admit(userId, deviceId, key);
    }
    connection.snapshots.push(saved);
    if (connection.snapshots.length > MAX_SNAPSHOTS) connection.snapshots.shift();
    this.trackedRooms += saved.rooms.size - connection.rooms;
    connection.rooms = saved.rooms.size;
    this.touch(key, connection);
    // Over the memory bound: the least recently used connections go (never this one).
    while (this.trackedRooms > this.maxTrackedRooms) {
      const oldest = this.connections.keys().next().value!;
      if (oldest === key) break;
      this.drop(oldest);
    }
    return saved;
  }

  get size(): number {
    return this.connections.size;
  }

  /** Marks the connection as the most recently used, in the server's order and its device's. */
  private touch(key: string, connection: Connection): void {
    this.connections.delete(key);
    this.connections.set(key, connection);
    const keys = this.perDevice.get(deviceKeyOf(key));
    if (keys) {
      keys.delete(key);
      keys.add(key);
    }
  }

  /** Makes room for a new connection: the device's least recently used beyond its share, the server's beyond the total. */
  private admit(userId: string, deviceId: string, key: string): void {
    const deviceKey = `${userId}\u0000${deviceId}`;
    let keys = this.perDevice.get(deviceKey);
    if (!keys) this.perDevice.set(deviceKey, (keys = new Set()));
    keys.add(key);
    if (keys.size > MAX_CONNECTIONS_PER_DEVICE) this.drop(keys.values().next().value!);
    while (this.connections.size >= MAX_CONNECTIONS) this.drop(this.connections.keys().next().value!);
  }

  private drop(key: string): void {
    this.trackedRooms -= this.connections.get(key)?.rooms ?? 0;
    this.connections.delete(key);
    const deviceKey = deviceKeyOf(key);
    const keys = this.perDevice.get(deviceKey);
    keys?.delete(key);
    if (keys?.size === 0) this.perDevice.delete(deviceKey);
  }
}

/** "user\0device" of a connection key "user\0device\0conn_id". */
function deviceKeyOf(key: string): string {
  return key.slice(0, key.indexOf("\u0000", key.indexOf("\u0000") + 1));
}

/**
 * "s<stream position>_<seq>": the leading "s<N>" makes it a token /messages
 * accepts ("A pos token can be used in /messages", MSC4186), seq names the snapshot.
 */
export function formatPos(snapshot: Pick<Snapshot, "pos" | "seq">): string {
  return `s${snapshot.pos}_${snapshot.seq}`;
}

function parsePos(pos: string): number {
  const match = /^s\d{1,15}_(\d{1,15})$/.exec(pos);
  if (!match) throw new MatrixError(400, "M_UNKNOWN_POS", "Unknown position; start the connection again without pos");
  return Number(match[1]);
}

const stores = new WeakMap<Homeserver, ConnectionStore>();

/** The instance's connection store. */
export function slidingConnections(hs: Homeserver): ConnectionStore {
  let store = stores.get(hs);
  if (!store) stores.set(hs, (store = new ConnectionStore()));
  return store;
}
