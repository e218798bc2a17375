// Content-Type and Content-Disposition of served media (spec: "Serving inline
// content"; GET .../download, Content-Disposition, required since v1.12).

/** The spec's list of types that may be served inline. Anything else is an attachment. */
const INLINE_TYPES = new Set([
  "text/css",
  "text/plain",
  "text/csv",
  "application/json",
  "application/ld+json",
  "image/jpeg",
  "image/gif",
  "image/png",
  "image/apng",
  "image/webp",
  "image/avif",
  "video/mp4",
  "video/webm",
  "video/ogg",
  "video/quicktime",
  "audio/mp4",
  "audio/webm",
  "audio/aac",
  "audio/mpeg",
  "audio/ogg",
  "audio/wave",
  "audio/wav",
  "audio/x-wav",
  "audio/x-pn-wav",
  "audio/flac",
  "audio/x-flac",
]);

/** The Content-Type to serve: the uploaded one, or application/octet-stream when none was given. */
export function servedContentType(uploaded: string | null): string {
  const type = uploaded?.trim();
  return type ? type : "application/octet-stream";
}

export function isInlineSafe(contentType: string): boolean {
  return INLINE_TYPES.has(contentType.split(";", 1)[0]!.trim().toLowerCase());
}

// RFC 6266 quoted-string: printable ASCII without the quote and the backslash.
const PLAIN_FILENAME = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * `inline` or `attachment` by the content type, with the file name when there is
 * one: as a quoted string when it is plain ASCII, otherwise in the RFC 5987
 * form `filename*=utf-8''<percent-encoded>`, which also keeps control
 * characters (a header injection) out of the header.
 */
export function contentDisposition(contentType: string, filename: string | null): string {
  const disposition = isInlineSafe(contentType) ? "inline" : "attachment";
  if (filename === null || filename === "") return disposition;
  if (PLAIN_FILENAME.test(filename)) return `${disposition}; filename="${filename}"`;
  return `${disposition}; filename*=utf-8''${encodeRfc5987(filename)}`;
}

/** Percent-encodes everything but RFC 5987's attr-char. */
function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
