// Persistent data units (PDUs) in the format of room versions 4+ (spec: Server-Server
// API "PDUs", room version "Event format"), their content hash, reference hash
// and event id, and the server's signature.
import { encodeUnpaddedBase64Url } from "../util/base64";
import { canonicalJson } from "../util/canonical-json";
import { signCanonical, type SigningKey } from "../util/signing";
import { redactEvent } from "./redaction";
import type { RoomVersionRules } from "./room-versions";

export interface Pdu {
  room_id: string;
  sender: string;
  type: string;
  state_key?: string;
  content: Record<string, unknown>;
  origin_server_ts: number;
  prev_events: string[];
  auth_events: string[];
  depth: number;
  hashes: { sha256: string };
  signatures: Record<string, Record<string, string>>;
  /** Top-level `redacts` of m.room.redaction before room version 11. */
  redacts?: string;
  unsigned?: Record<string, unknown>;
}

/** A PDU before its hash and signatures exist. */
export type UnsignedPdu = Omit<Pdu, "hashes" | "signatures"> & Partial<Pick<Pdu, "hashes" | "signatures">>;

function sha256(text: string): Buffer {
  return new Bun.CryptoHasher("sha256").update(text).digest() as Buffer;
}

/**
 * Content hash (spec: Server-Server API "Calculating the content hash for an event"):
 * sha256 of the canonical JSON of the event without `unsigned`, `signatures` and `hashes`.
 */
export function contentHash(event: UnsignedPdu): string {
  const { unsigned: _u, signatures: _s, hashes: _h, ...rest } = event as Record<string, unknown>;
  return sha256Base64(canonicalJson(rest));
}

/** Unpadded base64 of a SHA-256: 43 characters, the 44th being the padding. */
function sha256Base64(text: string): string {
  return (new Bun.CryptoHasher("sha256").update(text).digest("base64") as string).slice(0, 43);
}

/**
 * Reference hash (spec: "Calculating the reference hash for an event"): the event
 * is redacted, `signatures` and `unsigned` removed, and the canonical JSON hashed.
 */
export function referenceHash(event: Pdu, rules: RoomVersionRules): Buffer {
  const { signatures: _s, unsigned: _u, ...rest } = redactEvent(event as unknown as Record<string, unknown>, rules);
  return sha256(canonicalJson(rest));
}

/** Room versions 4+: `$` + URL-safe unpadded base64 of the reference hash. */
export function eventIdOf(event: Pdu, rules: RoomVersionRules): string {
  return `$${encodeUnpaddedBase64Url(referenceHash(event, rules))}`;
}

/**
 * Adds `hashes.sha256` and this server's signature. The signature covers the
 * redacted form of the event (spec: "Signing events"), so it survives redaction.
 */
export function hashAndSign(event: UnsignedPdu, rules: RoomVersionRules, serverName: string, key: SigningKey): Pdu {
  return finishEvent(event, rules, serverName, key).pdu;
}

/**
 * hashAndSign and eventIdOf in one pass, with the stored PDU's canonical JSON.
 * The signature and the reference hash both cover the canonical JSON of the
 * redacted event without signatures and unsigned (spec: "Signing events",
 * "Calculating the reference hash"), so that text is built once.
 */
export function finishEvent(event: UnsignedPdu, rules: RoomVersionRules, serverName: string, key: SigningKey): { pdu: Pdu; eventId: string; json: string } {
  const { signatures: _s, hashes: _h, unsigned, ...fields } = event as UnsignedPdu & { unsigned?: Record<string, unknown> };
  const hashed = { ...fields, hashes: { sha256: sha256Base64(canonicalJson(fields)) } } as Pdu;
  // The redaction algorithm keeps neither `unsigned` nor `signatures`.
  const signedBytes = canonicalJson(redactEvent(hashed as unknown as Record<string, unknown>, rules));
  const pdu: Pdu = { ...hashed, signatures: { [serverName]: { [key.keyId]: signCanonical(signedBytes, key) } } };
  if (unsigned !== undefined) pdu.unsigned = unsigned;
  return { pdu, eventId: `$${encodeUnpaddedBase64Url(sha256(signedBytes))}`, json: canonicalJson(pdu) };
}
