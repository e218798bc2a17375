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
  key: string;
  deviceKey: string;
  snapshots: Snapshot[];
  /** Rooms its newest snapshot tracks (snapshots share most of their entries). */
  rooms: number;
  /** When it was last used, in the store's own count: the least recently used go first. */
  lastUsed: number;
}

const MAX_CONNECTIONS_PER_DEVICE = 10;
const MAX_CONNECTIONS = 20_000;
const MAX_SNAPSHOTS = 3;
/** Rooms tracked over all connections (a few hundred bytes each): the memory bound that counts. */
const MAX_TRACKED_ROOMS = 1_000_000;

export class ConnectionStore {
  /** By "user\0device\0conn_id". */
  private readonly connections = new Map<string, Connection>();
  /** Each device's connections, by "user\0device". */
  private readonly perDevice = new Map<string, Set<Connection>>();
  private nextSeq = 1;
  private trackedRooms = 0;
  // Use is counted rather than kept in order: moving an entry to the end of a
  // Map on every request cost more than the rest of a quiet long-poll, and the
  // least recently used need only be found past a bound.
  private uses = 0;

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
    if (connection.snapshots[0] !== snapshot) connection.snapshots = connection.snapshots.filter((s) => s.seq >= seq);
    connection.lastUsed = ++this.uses;
    return snapshot;
  }

  /** A request without `pos` starts the connection afresh (MSC4186: initial sync). */
  reset(userId: string, deviceId: string, connId: string): void {
    const connection = this.connections.get(ConnectionStore.key(userId, deviceId, connId));
    if (connection) this.drop(connection);
  }

  /** Records a new snapshot for the connection and returns it with its seq. */
  save(userId: string, deviceId: string, connId: string, snapshot: Omit<Snapshot, "seq">): Snapshot {
    const key = ConnectionStore.key(userId, deviceId, connId);
    const saved = { ...snapshot, seq: this.nextSeq++ };
    let connection = this.connections.get(key);
    if (!connection) connection = this.admit(`${userId}\u0000${deviceId}`, key);
    connection.snapshots.push(saved);
    if (connection.snapshots.length > MAX_SNAPSHOTS) connection.snapshots.shift();
    this.trackedRooms += saved.rooms.size - connection.rooms;
    connection.rooms = saved.rooms.size;
    connection.lastUsed = ++this.uses;
    // Over the memory bound: the least recently used connections go (never this one).
    while (this.trackedRooms > this.maxTrackedRooms) {
      const oldest = leastRecentlyUsed(this.connections.values(), connection);
      if (!oldest) break;
      this.drop(oldest);
    }
    return saved;
  }

  get size(): number {
    return this.connections.size;
  }

  /** A new connection: the device's least recently used go beyond its share, the server's beyond the total. */
  private admit(deviceKey: string, key: string): Connection {
    const connection: Connection = { key, deviceKey, snapshots: [], rooms: 0, lastUsed: ++this.uses };
    let ofDevice = this.perDevice.get(deviceKey);
    if (!ofDevice) this.perDevice.set(deviceKey, (ofDevice = new Set()));
    while (ofDevice.size >= MAX_CONNECTIONS_PER_DEVICE) this.drop(leastRecentlyUsed(ofDevice.values())!);
    while (this.connections.size >= MAX_CONNECTIONS) this.drop(leastRecentlyUsed(this.connections.values())!);
    ofDevice.add(connection);
    this.connections.set(key, connection);
    return connection;
  }

  private drop(connection: Connection): void {
    this.trackedRooms -= connection.rooms;
    this.connections.delete(connection.key);
    const ofDevice = this.perDevice.get(connection.deviceKey);
    ofDevice?.delete(connection);
    if (ofDevice?.size === 0) this.perDevice.delete(connection.deviceKey);
  }
}

function leastRecentlyUsed(connections: Iterable<Connection>, except?: Connection): Connection | undefined {
  let oldest: Connection | undefined;
  for (const connection of connections) {
    if (connection !== except && (oldest === undefined || connection.lastUsed < oldest.lastUsed)) oldest = connection;
  }
  return oldest;
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
