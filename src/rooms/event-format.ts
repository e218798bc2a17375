// Persistent data units (PDUs) in the format of room versions 4+ (spec: Server-Server
// API "PDUs", room version "Event format"), their content hash, reference hash
// and event id, and the server's signature.
import { encodeUnpaddedBase64, encodeUnpaddedBase64Url } from "../util/base64";
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
  return encodeUnpaddedBase64(sha256(canonicalJson(rest)));
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
 * hashAndSign and eventIdOf in one pass: the signature and the reference hash
 * both cover the canonical JSON of the redacted event without signatures and
 * unsigned (spec: "Signing events", "Calculating the reference hash"), so it is
 * built once.
 */
export function finishEvent(event: UnsignedPdu, rules: RoomVersionRules, serverName: string, key: SigningKey): { pdu: Pdu; eventId: string } {
  const { signatures: _ignored, ...unsignedEvent } = event;
  const hashed = { ...unsignedEvent, hashes: { sha256: contentHash(event) } } as Pdu;
  // The redaction algorithm keeps neither `unsigned` nor `signatures`.
  const redacted = redactEvent(hashed as unknown as Record<string, unknown>, rules);
  const signedBytes = canonicalJson(redacted);
  const signature = signCanonical(signedBytes, key);
  const pdu = { ...hashed, signatures: { [serverName]: { [key.keyId]: signature } } };
  return { pdu, eventId: `$${encodeUnpaddedBase64Url(sha256(signedBytes))}` };
}
