// Starts and stops one homeserver: open the store, build the app, listen.
import { buildApp } from "./app";
import { bootstrapTokenForFirstStart } from "./accounts/registration";
import type { Config } from "./config";
import { openHomeserver, type Homeserver } from "./homeserver";
import type { Logger } from "./util/log";

export interface RunningServer {
  hs: Homeserver;
  /** e.g. http://127.0.0.1:8008 */
  baseUrl: string;
  /** The one-time token for the first account, when one was created at this start. */
  bootstrapToken: string | null;
  /** Stops accepting connections, lets in-flight requests finish, closes the database. */
  stop(): Promise<void>;
}

export function parseListen(listen: string): { hostname: string; port: number } {
  const colon = listen.lastIndexOf(":");
  const hostname = listen.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { hostname, port: Number(listen.slice(colon + 1)) };
}

export async function startServer(config: Config, log?: Logger): Promise<RunningServer> {
  const hs = await openHomeserver(config, log, { checkpointInBackground: true });
  const bootstrapToken = bootstrapTokenForFirstStart(hs);
  const app = buildApp(hs);
  const { hostname, port } = parseListen(config.listen);
  // Writes are committed in groups (store/index.ts): no answer leaves before the
  // writes made so far are committed; if that commit failed, the answer is a 500.
  // Bun.serve is called here rather than through app.listen(), which would serve
  // Elysia's handler directly and leave no place to wait for the commit.
  app.compile();
  const handle = app.fetch;
  const server = Bun.serve({
    hostname,
    port,
    development: false,
    // One server per port (Elysia's listen() would share the port with any other process).
    reusePort: false,
    // Long-polling /sync holds a request open for the client's timeout (commonly 30 s).
    idleTimeout: 255,
    // Bun's own cap stays above every configured limit so that the handlers answer M_TOO_LARGE themselves.
    // Uploads are counted as they stream, so the cap need only exceed the upload limit.
    maxRequestBodySize: Math.max(config.max_request_body_bytes * 2, config.media.max_upload_bytes + 1024 * 1024, 64 * 1024 * 1024),
    fetch: async (request) => {
      hs.store.readInTransaction();
      const response = await handle(request);
      try {
        await hs.store.settled();
      } catch (error) {
        hs.log.error(`commit failed: ${(error as Error).message}`);
        return Response.json({ errcode: "M_UNKNOWN", error: "Internal server error" }, { status: 500 });
      }
      return response;
    },
  });
  // Handlers read the server from the app (client addresses: server.requestIP).
  app.server = server;
  const shownHost = server.hostname?.includes(":") ? `[${server.hostname}]` : server.hostname;
  let stopped: Promise<void> | undefined;
  return {
    hs,
    baseUrl: `http://${shownHost}:${server.port}`,
    bootstrapToken,
    stop: () =>
      (stopped ??= (async () => {
        // Long-polling syncs answer now; then in-flight requests finish and the database closes.
        hs.notifier.shutdown();
        hs.media.uploads.close();
        await server.stop();
        hs.close();
      })()),
  };
}
