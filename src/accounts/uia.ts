// User-interactive authentication (spec: Client-Server API, "User-Interactive
// Authentication API"). A request that needs it carries `auth`; until one of the
// offered flows is complete the server answers 401 with the flows, the session id
// and the stages completed so far.
import { MatrixError } from "../http/errors";
import { randomString } from "../util/secrets";

export type Flows = string[][];

export interface UiaSession {
  id: string;
  completed: string[];
  createdMs: number;
  /** The user the session authenticates, for endpoints that act on an existing account. */
  userId?: string;
  /** The registration token validated in this session (m.login.registration_token). */
  registrationToken?: string;
}

/** Verifies one stage; throws a MatrixError (its errcode goes into the 401 body) when it fails. */
export type StageVerifier = (auth: Record<string, unknown>, session: UiaSession) => Promise<void> | void;

export interface UiaRequest {
  /** The `auth` member of the request body, as sent. */
  auth: unknown;
  flows: Flows;
  params?: Record<string, unknown>;
  verifiers: Record<string, StageVerifier>;
  /** Set on endpoints acting on an existing account: sessions cannot move between users. */
  userId?: string;
}

/** The 401 body of a UIA step; the error fields are present only after a failed stage. */
export class UiaChallenge extends MatrixError {
  constructor(readonly body: Record<string, unknown>) {
    super(401, (body.errcode as string) ?? "M_UNAUTHORIZED", (body.error as string) ?? "Authentication required");
  }

  override toJSON(): Record<string, unknown> {
    return this.body;
  }
}

const SESSION_LIFETIME_MS = 30 * 60 * 1000;

export class UserInteractiveAuth {
  private readonly sessions = new Map<string, UiaSession>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** Resolves with the finished session once a whole flow is complete; otherwise throws a UiaChallenge. */
  async authenticate(request: UiaRequest): Promise<UiaSession> {
    const auth = request.auth;
    const challenge = (session: UiaSession, failure?: MatrixError) =>
      new UiaChallenge({
        flows: request.flows.map((stages) => ({ stages })),
        params: request.params ?? {},
        session: session.id,
        ...(session.completed.length > 0 ? { completed: session.completed } : {}),
        ...(failure ? { errcode: failure.errcode, error: failure.message } : {}),
      });

    if (typeof auth !== "object" || auth === null || Array.isArray(auth)) throw challenge(this.start(request.userId));
    const body = auth as Record<string, unknown>;
    let session: UiaSession;
    if (body.session === undefined) {
      session = this.start(request.userId);
    } else {
      const found = typeof body.session === "string" ? this.sessions.get(body.session) : undefined;
      if (!found || found.userId !== request.userId) {
        throw new MatrixError(400, "M_UNKNOWN", "Unknown or expired user-interactive auth session");
      }
      session = found;
    }

    const type = body.type;
    if (type === undefined) throw challenge(session);
    const offered = request.flows.some((flow) => flow.includes(type as string));
    const verify = typeof type === "string" ? request.verifiers[type] : undefined;
    if (!offered || !verify) {
      throw new MatrixError(400, "M_UNRECOGNIZED", `Authentication type ${JSON.stringify(type)} is not offered here`);
    }
    try {
      await verify(body, session);
    } catch (error) {
      if (error instanceof MatrixError && error.status !== 429) throw challenge(session, error);
      throw error;
    }
    if (!session.completed.includes(type as string)) session.completed.push(type as string);

    const done = request.flows.some((flow) => flow.every((stage) => session.completed.includes(stage)));
    if (!done) throw challenge(session);
    this.sessions.delete(session.id);
    return session;
  }

  /** Registrations in progress that validated `token` (the spec's "pending" uses). */
  pendingUsesOf(token: string): number {
    this.expireOld();
    let pending = 0;
    for (const session of this.sessions.values()) if (session.registrationToken === token) pending++;
    return pending;
  }

  private start(userId: string | undefined): UiaSession {
    this.expireOld();
    const session: UiaSession = { id: randomString(24), completed: [], createdMs: this.clock(), userId };
    this.sessions.set(session.id, session);
    return session;
  }

  private expireOld(): void {
    const cutoff = this.clock() - SESSION_LIFETIME_MS;
    for (const [id, session] of this.sessions) if (session.createdMs < cutoff) this.sessions.delete(id);
  }
}
