// TURN credentials for VoIP (spec: Client-Server API, "Voice over IP",
// GET /voip/turnServer), from configuration.
import type { Homeserver } from "../homeserver";

export interface TurnServerResponse {
  username?: string;
  password?: string;
  uris?: string[];
  ttl?: number;
}

/**
 * With a shared secret, time-limited credentials in the scheme of coturn's REST
 * API (its `use-auth-secret`): the username is "<expiry unix seconds>:<user id>"
 * and the password base64(HMAC-SHA1(secret, username)). Otherwise the static
 * username and password. Without TURN URIs the answer is `{}`, as Synapse's:
 * matrix-js-sdk then calls without TURN rather than failing.
 */
export function turnServerFor(hs: Homeserver, userId: string, nowMs: number): TurnServerResponse {
  const turn = hs.config.turn;
  if (turn.uris.length === 0) return {};
  const ttl = Math.floor(turn.user_lifetime_ms / 1000);
  if (turn.shared_secret) {
    const username = `${Math.floor(nowMs / 1000) + ttl}:${userId}`;
    const password = new Bun.CryptoHasher("sha1", turn.shared_secret).update(username).digest("base64");
    return { username, password, uris: turn.uris, ttl };
  }
  if (turn.username !== null && turn.password !== null) {
    return { username: turn.username, password: turn.password, uris: turn.uris, ttl };
  }
  return {};
}
