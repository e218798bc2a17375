// Serving a file with single-range support (RFC 9110, "Range Requests"): a
// satisfiable `bytes=` range gets 206 with Content-Range, an unsatisfiable one
// 416 with `Content-Range: bytes */<size>`; several ranges, or a header that
// does not parse, get the whole file (the RFC lets a server ignore Range).

export function fileResponse(path: string, size: number, headers: Record<string, string>, rangeHeader: string | null): Response {
  const file = Bun.file(path);
  const base = { ...headers, "Accept-Ranges": "bytes" };
  const range = rangeHeader === null ? null : parseRange(rangeHeader, size);
  if (range === "unsatisfiable") {
    return new Response(null, { status: 416, headers: { ...base, "Content-Range": `bytes */${size}` } });
  }
  if (range === null) {
    return new Response(file, { status: 200, headers: { ...base, "Content-Length": String(size) } });
  }
  const { start, end } = range;
  // As a stream: Elysia re-reads a sliced file from its start offset to the end of the file.
  return new Response(file.slice(start, end + 1).stream(), {
    status: 206,
    headers: { ...base, "Content-Range": `bytes ${start}-${end}/${size}`, "Content-Length": String(end - start + 1) },
  });
}

/** A single byte range (inclusive), "unsatisfiable", or null to ignore the header. */
export function parseRange(header: string, size: number): { start: number; end: number } | "unsatisfiable" | null {
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return null;
  const [, first, last] = match;
  if (first === "" && last === "") return null;
  if (first === "") {
    // Suffix range: the last N bytes.
    const length = Number(last);
    if (length === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== "" && Number(last) < start) return null; // invalid: ignored
  if (start >= size) return "unsatisfiable";
  return { start, end };
}
