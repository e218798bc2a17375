// Responses that embed JSON serialized earlier. A message fanned out to a big
// room is the same text in every member's /sync: serializing it once and
// splicing the text into each response spares the per-member work (building
// the client event, then JSON.stringify walking it again), which is most of
// what a busy long-poll costs.
//
// JSON.stringify cannot embed raw text (JSON.rawJSON takes primitives only), so
// a RawJsonArray stands in as a marker string while the rest of the response
// is stringified, and its text replaces the marker afterwards. The marker has
// a per-process random part: no string in an event can be mistaken for it.

const NONCE = crypto.randomUUID();
let spliced: (readonly string[])[] | null = null;

const markerOf = (index: number) => `\u0001${NONCE}:${index}`;

/** A JSON array whose elements are already serialized (each a JSON text). */
export class RawJsonArray {
  constructor(readonly items: readonly string[]) {}

  get length(): number {
    return this.items.length;
  }

  toJSON(): unknown {
    // Inside stringifyWithRaw: a marker, replaced once the whole is serialized.
    if (spliced) return markerOf(spliced.push(this.items) - 1);
    // Anywhere else (a log line, a test): the value itself.
    return JSON.parse(`[${this.items.join(",")}]`);
  }
}

/** JSON.stringify(value), with each RawJsonArray in it written as its elements' text. */
export function stringifyWithRaw(value: unknown): string {
  const outer = spliced;
  spliced = [];
  try {
    let text = JSON.stringify(value);
    spliced.forEach((items, index) => {
      // split/join: the replacement is literal text ("$" patterns of replace() would not be).
      text = text.split(JSON.stringify(markerOf(index))).join(`[${items.join(",")}]`);
    });
    return text;
  } finally {
    spliced = outer;
  }
}

/** A JSON response whose body may embed RawJsonArrays. */
export function jsonResponseWithRaw(value: unknown): Response {
  return new Response(stringifyWithRaw(value), { headers: { "content-type": "application/json;charset=utf-8" } });
}
