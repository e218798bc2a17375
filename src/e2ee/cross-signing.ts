// Cross-signing (spec: Client-Server API, "End-to-End Encryption" > "Cross-signing";
// data/api/client-server/cross_signing.yaml). A user's master key signs their
// self-signing key (which signs their devices) and their user-signing key
// (which signs other users' master keys). The server checks the signatures it
// is given and serves them back merged into the signed objects; it never holds
// a private key.
import type { Requester } from "../accounts/credentials";
import { PASSWORD_FLOWS, passwordStageFor } from "../accounts/password-auth";
import type { Homeserver } from "../homeserver";
import { MatrixError, forbidden } from "../http/errors";
import { isUserId } from "../rooms/ids";
import type { CrossSigningUsage, StoredCrossSigningKey } from "../store/cross-signing";
import { canonicalJson } from "../util/canonical-json";
import { verifyJsonSignature } from "../util/signing";
import { deviceListChanged } from "./keys";

type Json = Record<string, unknown>;
type Signatures = Record<string, Record<string, string>>;

const USAGES: readonly CrossSigningUsage[] = ["master", "self_signing", "user_signing"];

interface UploadedKey {
  usage: CrossSigningUsage;
  publicKey: string;
  object: Json;
  canonical: string;
}

export interface CrossSigningUpload {
  master_key?: Json;
  self_signing_key?: Json;
  user_signing_key?: Json;
  auth?: unknown;
}

/** The canonical JSON of a key object as it is signed: without `signatures` and `unsigned`. */
function signedPart(object: Json): string {
  const { signatures: _signatures, unsigned: _unsigned, ...signed } = object;
  return canonicalJson(signed);
}

/** Checks the shape the spec's CrossSigningKey requires and returns the key's public part. */
function parseCrossSigningKey(userId: string, usage: CrossSigningUsage, object: Json): UploadedKey {
  if (object.user_id !== userId) throw new MatrixError(400, "M_INVALID_PARAM", `${usage} key must belong to ${userId}`);
  if (!Array.isArray(object.usage) || !object.usage.includes(usage)) {
    throw new MatrixError(400, "M_INVALID_PARAM", `${usage} key must list "${usage}" in usage`);
  }
  const keys = object.keys;
  const entries = typeof keys === "object" && keys !== null && !Array.isArray(keys) ? Object.entries(keys) : [];
  const [keyId, value] = entries[0] ?? [];
  // Exactly one ed25519 key, named by its own public key ("ed25519:<unpadded base64>").
  if (entries.length !== 1 || !keyId?.startsWith("ed25519:") || typeof value !== "string" || keyId.length === "ed25519:".length) {
    throw new MatrixError(400, "M_INVALID_PARAM", `${usage} key must contain exactly one ed25519 key`);
  }
  if (object.signatures !== undefined && (typeof object.signatures !== "object" || object.signatures === null)) {
    throw new MatrixError(400, "M_INVALID_PARAM", `${usage} key signatures must be an object`);
  }
  return { usage, publicKey: keyId.slice("ed25519:".length), object, canonical: canonicalJson(object) };
}

/**
 * POST /keys/device_signing/upload. User-interactive auth is required except
 * for a first upload (no master key yet) or a repeat of exactly the stored keys,
 * which answers {} and changes nothing (spec v1.11).
 */
export async function uploadCrossSigningKeys(hs: Homeserver, requester: Requester, body: CrossSigningUpload): Promise<Json> {
  const { userId } = requester;
  const uploaded: UploadedKey[] = [];
  for (const usage of USAGES) {
    const object = body[`${usage}_key`];
    if (object !== undefined) uploaded.push(parseCrossSigningKey(userId, usage, object));
  }
  const stored = new Map(hs.store.crossSigning.keysOf(userId).map((key) => [key.usage, key]));
  const storedMaster = stored.get("master");
  if (storedMaster && uploaded.every((key) => stored.get(key.usage)?.json === key.canonical)) return {};

  // Every check that needs no password comes first, so a bad request fails at once.
  const master = uploaded.find((key) => key.usage === "master") ?? storedMaster;
  for (const key of uploaded) {
    if (key.usage === "master") continue;
    if (!master) throw new MatrixError(400, "M_MISSING_PARAM", "No master key is available to sign the key with");
    if (!verifyJsonSignature(key.object, userId, `ed25519:${master.publicKey}`, master.publicKey)) {
      throw new MatrixError(400, "M_INVALID_SIGNATURE", `The ${key.usage} key is not signed by the master key`);
    }
  }
  // A key named like a device would make signatures/upload ambiguous.
  const deviceIds = new Set(hs.store.devices.list(userId).map((device) => device.deviceId));
  for (const key of uploaded) if (deviceIds.has(key.publicKey)) throw forbidden("Key ID in use");

  if (storedMaster) {
    await hs.uia.authenticate({ auth: body.auth, flows: PASSWORD_FLOWS, verifiers: passwordStageFor(hs, requester), userId });
  }
  hs.store.transaction(() => {
    for (const key of uploaded) hs.store.crossSigning.putKey(userId, key.usage, key.publicKey, key.canonical);
    if (uploaded.length > 0) deviceListChanged(hs, userId);
  });
  return {};
}

type Failure = { errcode: string; error: string };

/**
 * POST /keys/signatures/upload. Accepted signatures: the requester's
 * self-signing key on their own devices, their devices on their own master key,
 * and their user-signing key on another user's master key. Each object must be
 * the stored one (apart from `signatures`); anything else is reported in
 * `failures` and not stored.
 */
export function uploadSignatures(hs: Homeserver, requester: Requester, body: Record<string, Record<string, Json>>): { failures: Record<string, Record<string, Failure>> } {
  const signer = requester.userId;
  // Null-prototype maps: user and key ids come from the request ("constructor", "__proto__" ...).
  const failures: Record<string, Record<string, Failure>> = Object.create(null);
  const changedUsers = new Set<string>();
  const ownKeys = new Map(hs.store.crossSigning.keysOf(signer).map((key) => [key.usage, key]));

  hs.store.transaction(() => {
    for (const [targetUserId, objects] of Object.entries(body)) {
      if (typeof objects !== "object" || objects === null) continue;
      for (const [targetKeyId, object] of Object.entries(objects)) {
        try {
          if (!isUserId(targetUserId)) throw new MatrixError(400, "M_INVALID_PARAM", "Not a user id");
          const stored = signatureTarget(hs, signer, ownKeys, targetUserId, targetKeyId);
          if (typeof object !== "object" || object === null || signedPart(object) !== signedPart(JSON.parse(stored.json) as Json)) {
            throw new MatrixError(400, "M_INVALID_PARAM", "The signed object does not match the stored key");
          }
          const offered = ((object.signatures as Signatures | undefined) ?? {})[signer] ?? {};
          const accepted: { signerKeyId: string; signature: string }[] = [];
          for (const [signerKeyId, signature] of Object.entries(offered)) {
            const publicKey = stored.allowedSigners.get(signerKeyId);
            if (publicKey === undefined) continue; // e.g. the self-signature already in the stored object
            if (!verifyJsonSignature(object, signer, signerKeyId, publicKey)) {
              throw new MatrixError(400, "M_INVALID_SIGNATURE", `Invalid signature by ${signerKeyId}`);
            }
            accepted.push({ signerKeyId, signature });
          }
          if (accepted.length === 0) throw new MatrixError(400, "M_INVALID_SIGNATURE", "No signature by a key allowed to sign this object");
          for (const { signerKeyId, signature } of accepted) {
            hs.store.crossSigning.putSignature({ targetUserId, targetKeyId, signerUserId: signer, signerKeyId, signature });
          }
          changedUsers.add(targetUserId);
        } catch (error) {
          if (!(error instanceof MatrixError)) throw error;
          (failures[targetUserId] ??= Object.create(null))[targetKeyId] = { errcode: error.errcode, error: error.message };
        }
      }
    }
    // Signatures change what /keys/query returns: clients re-query on device_lists.changed.
    for (const userId of changedUsers) deviceListChanged(hs, userId);
  });
  return { failures };
}

/** The stored object a signature upload names, and which of the signer's keys may sign it. */
function signatureTarget(
  hs: Homeserver,
  signer: string,
  ownKeys: Map<string, StoredCrossSigningKey>,
  targetUserId: string,
  targetKeyId: string,
): { json: string; allowedSigners: Map<string, string> } {
  const allowedSigners = new Map<string, string>();
  if (targetUserId === signer) {
    const master = ownKeys.get("master");
    if (master && targetKeyId === master.publicKey) {
      // The user's own devices sign their master key.
      for (const { deviceId, json } of hs.store.keys.allDeviceKeys(signer)) {
        const deviceKey = ((JSON.parse(json) as Json).keys as Record<string, string> | undefined)?.[`ed25519:${deviceId}`];
        if (deviceKey) allowedSigners.set(`ed25519:${deviceId}`, deviceKey);
      }
      return { json: master.json, allowedSigners };
    }
    const device = hs.store.keys.deviceKeys(signer, targetKeyId);
    if (device === undefined) throw new MatrixError(404, "M_NOT_FOUND", "Unknown device or key");
    const selfSigning = ownKeys.get("self_signing");
    if (!selfSigning) throw new MatrixError(400, "M_MISSING_PARAM", "Upload a self-signing key before signing devices");
    allowedSigners.set(`ed25519:${selfSigning.publicKey}`, selfSigning.publicKey);
    return { json: device, allowedSigners };
  }
  const targetMaster = hs.store.crossSigning.key(targetUserId, "master");
  if (!targetMaster || targetMaster.publicKey !== targetKeyId) throw new MatrixError(404, "M_NOT_FOUND", "Unknown master key");
  const userSigning = ownKeys.get("user_signing");
  if (!userSigning) throw new MatrixError(400, "M_MISSING_PARAM", "Upload a user-signing key before signing other users");
  allowedSigners.set(`ed25519:${userSigning.publicKey}`, userSigning.publicKey);
  return { json: targetMaster.json, allowedSigners };
}

/** Adds stored signatures to a key object's `signatures`, without changing the stored object. */
function withSignatures(object: Json, signatures: { signerUserId: string; signerKeyId: string; signature: string }[]): Json {
  if (signatures.length === 0) return object;
  const merged: Signatures = {};
  for (const [user, byKey] of Object.entries((object.signatures as Signatures | undefined) ?? {})) merged[user] = { ...byKey };
  for (const { signerUserId, signerKeyId, signature } of signatures) (merged[signerUserId] ??= {})[signerKeyId] = signature;
  return { ...object, signatures: merged };
}

/** Uploaded signatures on a user's devices, grouped by device id. */
export function deviceSignatures(hs: Homeserver, userId: string, deviceIds: string[]) {
  const byDevice = new Map<string, { signerUserId: string; signerKeyId: string; signature: string }[]>();
  for (const row of hs.store.crossSigning.signaturesOn(userId, deviceIds)) {
    const list = byDevice.get(row.targetKeyId) ?? [];
    list.push(row);
    byDevice.set(row.targetKeyId, list);
  }
  return (deviceId: string, object: Json) => withSignatures(object, byDevice.get(deviceId) ?? []);
}

/**
 * A user's cross-signing keys as /keys/query serves them to `requester`:
 * signatures on the master key by other users are shown only to their signer,
 * and the user-signing key only to its owner (spec: "POST /keys/query").
 */
export function crossSigningKeysFor(hs: Homeserver, requesterId: string, userId: string): Partial<Record<CrossSigningUsage, Json>> {
  const result: Partial<Record<CrossSigningUsage, Json>> = {};
  for (const key of hs.store.crossSigning.keysOf(userId)) {
    if (key.usage === "user_signing" && userId !== requesterId) continue;
    let object = JSON.parse(key.json) as Json;
    if (key.usage === "master") {
      const visible = hs.store.crossSigning
        .signaturesOn(userId, [key.publicKey])
        .filter((row) => row.signerUserId === userId || row.signerUserId === requesterId);
      object = withSignatures(object, visible);
    }
    result[key.usage] = object;
  }
  return result;
}
