// Event hashing, signing and ids (spec: Server-Server API "Signing events",
// "Calculating the content hash for an event", "Calculating the reference hash
// for an event"; room version 4+ "Event IDs"), with the spec's test key.
import { describe, expect, test } from "bun:test";
import { contentHash, eventIdOf, finishEvent, hashAndSign, referenceHash, type Pdu, type UnsignedPdu } from "../../src/rooms/event-format";
import { redactEvent } from "../../src/rooms/redaction";
import { ROOM_VERSIONS } from "../../src/rooms/room-versions";
import { decodeBase64 } from "../../src/util/base64";
import { canonicalJson } from "../../src/util/canonical-json";
import { signingKeyFromSeed, verifyJsonSignature } from "../../src/util/signing";

const V10 = ROOM_VERSIONS["10"]!;
const V11 = ROOM_VERSIONS["11"]!;
const SPEC_KEY = signingKeyFromSeed("ed25519:1", decodeBase64("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"));
const SPEC_PUBLIC_KEY = "XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI";

/** The spec's minimal event of "Signing events" (it carries the pre-v11 top-level `origin`). */
function specMinimalEvent(): UnsignedPdu {
  return {
    room_id: "!x:domain",
    sender: "@a:domain",
    origin: "domain",
    origin_server_ts: 1000000,
    signatures: {},
    hashes: {},
    type: "X",
    content: {},
    prev_events: [],
    auth_events: [],
    depth: 3,
    unsigned: { age_ts: 1000000 },
  } as unknown as UnsignedPdu;
}

/** The spec's message event example (signed under the same rules). */
function specMessageEvent(): UnsignedPdu {
  return {
    content: { body: "Here is the message content" },
    event_id: "$0:domain",
    origin: "domain",
    origin_server_ts: 1000000,
    type: "m.room.message",
    room_id: "!r:domain",
    sender: "@u:domain",
    signatures: {},
    unsigned: { age_ts: 1000000 },
  } as unknown as UnsignedPdu;
}

describe("the spec's signing examples", () => {
  test("content hash of the minimal event", () => {
    expect(contentHash(specMinimalEvent())).toBe("5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos");
  });

  test("hashAndSign of the minimal event gives the spec's hash and signature", () => {
    // The example keeps `origin`, which the v9 redaction algorithm (room version 10) protects.
    const signed = hashAndSign(specMinimalEvent(), V10, "domain", SPEC_KEY);
    expect(JSON.parse(canonicalJson(signed))).toEqual({
      auth_events: [],
      content: {},
      depth: 3,
      hashes: { sha256: "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos" },
      origin: "domain",
      origin_server_ts: 1000000,
      prev_events: [],
      room_id: "!x:domain",
      sender: "@a:domain",
      signatures: {
        domain: { "ed25519:1": "KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg" },
      },
      type: "X",
      unsigned: { age_ts: 1000000 },
    });
  });

  test("hashAndSign of the message event: the signature covers the redacted event", () => {
    const signed = hashAndSign(specMessageEvent(), V10, "domain", SPEC_KEY);
    expect(signed.hashes).toEqual({ sha256: "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g" });
    expect(signed.signatures).toEqual({
      domain: { "ed25519:1": "Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA" },
    });
    expect(signed.content).toEqual({ body: "Here is the message content" }); // the content itself is kept
  });

  test("under v11 the same event is signed without `origin`, so the signature differs but verifies", () => {
    const signed = hashAndSign(specMinimalEvent(), V11, "domain", SPEC_KEY);
    expect(signed.hashes.sha256).toBe("5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"); // the content hash covers origin either way
    expect(signed.signatures.domain!["ed25519:1"]).not.toBe("KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg");
    const redacted = redactEvent(signed as unknown as Record<string, unknown>, V11);
    expect(verifyJsonSignature(redacted, "domain", "ed25519:1", SPEC_PUBLIC_KEY)).toBe(true);
  });

  test("contentHash ignores unsigned, signatures and existing hashes", () => {
    const event = specMinimalEvent();
    const noisy = { ...event, unsigned: { other: 1 }, signatures: { x: { "ed25519:y": "z" } }, hashes: { sha256: "old" } };
    expect(contentHash(noisy)).toBe(contentHash(event));
  });
});

describe.each([
  ["10", V10],
  ["11", V11],
])("event ids in room version %s", (_name, rules) => {
  const message = (body: string): Pdu =>
    hashAndSign(
      {
        room_id: "!room:hs.test",
        sender: "@alice:hs.test",
        type: "m.room.message",
        content: { msgtype: "m.text", body },
        origin_server_ts: 1700000000000,
        prev_events: ["$prev"],
        auth_events: ["$create", "$power", "$member"],
        depth: 4,
      },
      rules,
      "hs.test",
      SPEC_KEY,
    );

  const member = (membership: string, displayname: string): Pdu =>
    hashAndSign(
      {
        room_id: "!room:hs.test",
        sender: "@alice:hs.test",
        type: "m.room.member",
        state_key: "@alice:hs.test",
        content: { membership, displayname },
        origin_server_ts: 1700000000000,
        prev_events: ["$prev"],
        auth_events: ["$create"],
        depth: 2,
      },
      rules,
      "hs.test",
      SPEC_KEY,
    );

  test("is `$` and 43 characters of URL-safe unpadded base64 of the reference hash", () => {
    const event = message("hello");
    const id = eventIdOf(event, rules);
    expect(id).toMatch(/^\$[A-Za-z0-9_-]{43}$/);
    expect(id.slice(1)).toBe(Buffer.from(referenceHash(event, rules)).toString("base64url"));
  });

  test("is stable: the same event gives the same id; unsigned does not count", () => {
    const event = message("hello");
    expect(eventIdOf({ ...event }, rules)).toBe(eventIdOf(event, rules));
    expect(eventIdOf({ ...event, unsigned: { age: 5, transaction_id: "t" } }, rules)).toBe(eventIdOf(event, rules));
  });

  test("does not change when the event is redacted", () => {
    const event = message("secret words");
    const redacted = redactEvent(event as unknown as Record<string, unknown>, rules) as unknown as Pdu;
    expect(redacted.content).toEqual({});
    expect(eventIdOf(redacted, rules)).toBe(eventIdOf(event, rules));
  });

  test("does not depend on content the redaction drops, only through the content hash", () => {
    const a = message("one");
    const b = message("two");
    // Different content, so different hashes, so different ids ...
    expect(a.hashes.sha256).not.toBe(b.hashes.sha256);
    expect(eventIdOf(a, rules)).not.toBe(eventIdOf(b, rules));
    // ... but with the same hash the dropped content does not matter.
    expect(eventIdOf({ ...a, content: { body: "other" } }, rules)).toBe(eventIdOf(a, rules));
  });

  test("changes when content that redaction keeps changes", () => {
    const joined = member("join", "Alice");
    const left = member("leave", "Alice");
    // Keep the hash equal to isolate the kept key `membership`.
    expect(eventIdOf({ ...left, hashes: joined.hashes }, rules)).not.toBe(eventIdOf(joined, rules));
    // A dropped key (displayname) with the same hash gives the same id.
    expect(eventIdOf({ ...joined, content: { membership: "join", displayname: "Mallory" } }, rules)).toBe(eventIdOf(joined, rules));
  });

  test("the signature verifies on the redacted event, and on the redacted form of the full event", () => {
    const event = message("hello");
    const redacted = redactEvent(event as unknown as Record<string, unknown>, rules);
    expect(verifyJsonSignature(redacted, "hs.test", "ed25519:1", SPEC_PUBLIC_KEY)).toBe(true);
    // The full event is not what was signed (content is covered only through the hash).
    expect(verifyJsonSignature(event as unknown as Record<string, unknown>, "hs.test", "ed25519:1", SPEC_PUBLIC_KEY)).toBe(false);
    // Tampering with a kept key breaks it.
    const tampered = { ...redacted, origin_server_ts: 1 };
    expect(verifyJsonSignature(tampered, "hs.test", "ed25519:1", SPEC_PUBLIC_KEY)).toBe(false);
    // Tampering with the content hash breaks it too, which is what protects the content.
    const rehashed = { ...redacted, hashes: { sha256: "AAAA" } };
    expect(verifyJsonSignature(rehashed, "hs.test", "ed25519:1", SPEC_PUBLIC_KEY)).toBe(false);
  });

  test("the content hash in the event matches a recomputation", () => {
    const event = message("hello");
    expect(contentHash(event)).toBe(event.hashes.sha256);
    expect(contentHash({ ...event, content: { body: "changed" } })).not.toBe(event.hashes.sha256);
  });

  test("hashAndSign drops signatures given with its input and keeps unsigned", () => {
    const signed = hashAndSign(
      {
        room_id: "!room:hs.test",
        sender: "@alice:hs.test",
        type: "m.room.message",
        content: { body: "x" },
        origin_server_ts: 1,
        prev_events: [],
        auth_events: [],
        depth: 1,
        signatures: { forged: { "ed25519:0": "AAAA" } },
        unsigned: { transaction_id: "t1" },
      },
      rules,
      "hs.test",
      SPEC_KEY,
    );
    expect(Object.keys(signed.signatures)).toEqual(["hs.test"]);
    expect(signed.unsigned).toEqual({ transaction_id: "t1" });
  });
});

describe.each([
  ["10", V10],
  ["11", V11],
])("finishEvent in room version %s assembles the same texts as encoding the event whole", (_name, rules) => {
  const base = { room_id: "!room:hs.test", sender: "@alice:hs.test", origin_server_ts: 1700000000000, prev_events: ["$prev"], auth_events: ["$create"], depth: 7 };
  const cases: [string, UnsignedPdu][] = [
    ["a message with nested, unordered and non-ASCII content", { ...base, type: "m.room.message", content: { zeta: [3, { b: 1, a: "é" }], msgtype: "m.text", body: "héllo 🎉", "\u00e9": true, "\ud83c\udf89": null, "\ufb01": 1 } }],
    ["a member event", { ...base, type: "m.room.member", state_key: "@alice:hs.test", content: { membership: "join", displayname: "Alice" } }],
    ["a create event", { ...base, type: "m.room.create", state_key: "", content: { room_version: "11", creator: "@alice:hs.test", extra: 1 } }],
    ["power levels", { ...base, type: "m.room.power_levels", state_key: "", content: { users: { "@alice:hs.test": 100 }, invite: 50, ban: 50, events_default: 0 } }],
    ["a redaction with top-level redacts", { ...base, type: "m.room.redaction", redacts: "$target", content: { reason: "spam", redacts: "$target" } }],
    ["an event with unsigned", { ...base, type: "m.room.message", content: { body: "x" }, unsigned: { transaction_id: "t1" } } as UnsignedPdu],
  ];
  test.each(cases)("%s", (_what, event) => {
    const { pdu, eventId, json } = finishEvent(event, rules, "hs.test", SPEC_KEY);
    expect(json).toBe(canonicalJson(pdu));
    expect(pdu.hashes.sha256).toBe(contentHash(event));
    expect(eventId).toBe(eventIdOf(pdu, rules));
    expect(pdu).toMatchObject(event as unknown as Record<string, unknown>);
    const { signatures: _s, unsigned: _u, ...signed } = redactEvent(pdu as unknown as Record<string, unknown>, rules);
    expect(verifyJsonSignature({ ...signed, signatures: pdu.signatures }, "hs.test", "ed25519:1", SPEC_PUBLIC_KEY)).toBe(true);
  });
});
