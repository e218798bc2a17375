// A load generator's HTTP/1.1 client: one keep-alive connection, one request in
// flight at a time, the request written in one piece and the response read by
// its Content-Length, as wrk and oha do. On the two cores the server shares with
// its load generator, Bun's fetch costs about 55–65 µs of CPU per request
// against 30–35 µs for this (bench/README.md, "Send throughput").

export interface RawResponse {
  status: number;
  text: string;
}

const HEADER_END = Buffer.from("\r\n\r\n");
const USER_AGENT = `Bun/${Bun.version}`;

export class KeepAliveConnection {
  private received: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (response: RawResponse) => void; reject: (error: Error) => void } | null = null;
  private unsent: Buffer | null = null;
  private closed: Error | null = null;

  private constructor(
    private readonly host: string,
    private socket: Bun.Socket<undefined> | null = null,
  ) {}

  static async open(base: string): Promise<KeepAliveConnection> {
    const url = new URL(base);
    const connection = new KeepAliveConnection(url.host);
    connection.socket = await Bun.connect({
      hostname: url.hostname,
      port: Number(url.port),
      socket: {
        data: (_socket, chunk) => connection.onData(chunk),
        drain: (socket) => {
          const rest = connection.unsent;
          connection.unsent = null;
          if (rest) connection.write(socket, rest);
        },
        close: () => connection.fail(new Error("connection closed")),
        error: (_socket, error) => connection.fail(error),
      },
    });
    return connection;
  }

  /** Sends one request and resolves with the response; rejects if the connection goes away first. */
  request(method: string, path: string, headers: Record<string, string>, body?: string): Promise<RawResponse> {
    if (this.closed) return Promise.reject(this.closed);
    if (this.waiting) return Promise.reject(new Error("one request at a time on a connection"));
    const payload = body === undefined ? "" : body;
    let head = `${method} ${path} HTTP/1.1\r\nHost: ${this.host}\r\nConnection: keep-alive\r\nUser-Agent: ${USER_AGENT}\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n`;
    for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
    head += `Content-Length: ${Buffer.byteLength(payload)}\r\n\r\n`;
    const promise = new Promise<RawResponse>((resolve, reject) => (this.waiting = { resolve, reject }));
    this.write(this.socket!, Buffer.from(head + payload));
    return promise;
  }

  close(): void {
    this.socket?.end();
  }

  private write(socket: Bun.Socket<undefined>, bytes: Buffer): void {
    const written = socket.write(bytes);
    if (written < bytes.length) this.unsent = bytes.subarray(Math.max(0, written));
  }

  private onData(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    const headerEnd = this.received.indexOf(HEADER_END);
    if (headerEnd < 0) return;
    const head = this.received.toString("latin1", 0, headerEnd);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) {
      if (/\r\ntransfer-encoding:/i.test(head)) return this.fail(new Error("chunked responses are not supported"));
      if (status !== 204 && status !== 304) return this.fail(new Error(`response ${status} without Content-Length`));
    }
    const bodyStart = headerEnd + HEADER_END.length;
    const bodyEnd = bodyStart + (length ? Number(length[1]) : 0);
    if (this.received.length < bodyEnd) return;
    const text = this.received.toString("utf8", bodyStart, bodyEnd);
    this.received = this.received.subarray(bodyEnd);
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.resolve({ status, text });
  }

  private fail(error: Error): void {
    this.closed ??= error;
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.reject(error);
  }
}
