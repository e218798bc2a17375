// Synapse-compatible shared-secret registration (Synapse admin API
// "Shared-Secret Registration"): GET a nonce, then POST the account with an
// HMAC-SHA1 over nonce, username, password and admin flag, keyed by the secret.
import type { Homeserver } from "../homeserver";
import { MatrixError, forbidden } from "../http/errors";
import { constantTimeEqual, randomString } from "../util/secrets";
import { perInstance } from "../util/per-instance";
import { now } from "../util/time";
import { issueCredentials } from "./credentials";
import { prepareAccount } from "./registration";

const NONCE_LIFETIME_MS = 60_000;
const nonceStore = perInstance<string, number>();

function requireSecret(hs: Homeserver): string {
  const secret = hs.config.registration_shared_secret;
  if (!secret) throw new MatrixError(400, "M_UNKNOWN", "Shared secret registration is not enabled");
  return secret;
}

export function issueNonce(hs: Homeserver): string {
  requireSecret(hs);
  const store = nonceStore(hs);
  const ts = now();
  for (const [nonce, created] of store) if (created + NONCE_LIFETIME_MS < ts) store.delete(nonce);
  const nonce = randomString(32);
  store.set(nonce, ts);
  return nonce;
}

export interface SharedSecretRegistration {
  nonce: string;
  username: string;
  password: string;
  admin?: boolean;
  displayname?: string;
  user_type?: string | null;
  mac: string;
}

export function sharedSecretMac(secret: string, body: Omit<SharedSecretRegistration, "mac">): string {
  const hmac = new Bun.CryptoHasher("sha1", secret);
  hmac.update(body.nonce).update("\x00").update(body.username).update("\x00").update(body.password);
  hmac.update("\x00").update(body.admin ? "admin" : "notadmin");
  if (body.user_type) hmac.update("\x00").update(body.user_type);
  return hmac.digest("hex");
}

export async function registerWithSharedSecret(hs: Homeserver, body: SharedSecretRegistration, ip: string) {
  const secret = requireSecret(hs);
  const store = nonceStore(hs);
  const created = store.get(body.nonce);
  if (created === undefined || created + NONCE_LIFETIME_MS < now()) {
    throw new MatrixError(400, "M_UNKNOWN", "unrecognised nonce");
  }
  store.delete(body.nonce); // single use, whatever the outcome
  if (!constantTimeEqual(sharedSecretMac(secret, body), body.mac.toLowerCase())) throw forbidden("HMAC incorrect");
  const prepared = await prepareAccount(hs, {
    localpart: body.username.toLowerCase(),
    password: body.password,
    admin: body.admin ?? false,
    displayName: body.displayname,
  });
  return hs.store.transaction(() => {
    prepared.insert();
    const credentials = issueCredentials(hs, prepared.userId, { ip });
    return { ...credentials, home_server: hs.config.server_name };
  });
}
