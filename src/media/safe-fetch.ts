// Fetching a URL on a user's behalf (URL previews), within limits: http and
// https only; every address the host name resolves to must pass
// address-filter.ts (unless allow_private_addresses); redirects are followed by
// hand (at most 5) so that each hop is checked again; the whole fetch has a time
// limit and the body a size limit, counted as it arrives.
//
// Plain http connects to the address that was checked (the Host header keeps
// the name), so a second DNS answer cannot switch it to a private address. For
// https the TLS certificate must match the name, so the name is fetched again
// after the check; a DNS server that answers differently within that moment
// (DNS rebinding) is the remaining risk, which allow-listing at a proxy removes.
import type { OutboundTls } from "../http/outbound";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { MatrixError } from "../http/errors";
import { isBlockedAddress } from "./address-filter";

export interface FetchLimits {
  maxBytes: number;
  timeoutMs: number;
  allowPrivateAddresses: boolean;
  /** Extra trusted CAs for https (see http/outbound.ts). */
  tls?: OutboundTls;
}

export interface FetchedResource {
  url: string;
  contentType: string;
  body: Uint8Array;
}

const MAX_REDIRECTS = 5;

const blocked = () => new MatrixError(403, "M_FORBIDDEN", "The URL's address is not allowed");
const unreachable = (why: string) => new MatrixError(502, "M_UNKNOWN", `Cannot fetch the URL: ${why}`);

export async function safeFetch(rawUrl: string, limits: FetchLimits): Promise<FetchedResource> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  let url = parseHttpUrl(rawUrl);
  try {
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const response = await fetchChecked(url, limits, signal);
      const location = response.headers.get("location");
      if (response.status >= 300 && response.status < 400 && location !== null) {
        await response.body?.cancel();
        url = parseHttpUrl(new URL(location, url).href);
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw unreachable(`status ${response.status}`);
      }
      return { url: url.href, contentType: response.headers.get("content-type") ?? "", body: await readLimited(response, limits.maxBytes) };
    }
    throw unreachable("too many redirects");
  } catch (error) {
    if (error instanceof MatrixError) throw error;
    if (signal.aborted) throw new MatrixError(504, "M_UNKNOWN", "Fetching the URL took too long");
    throw unreachable((error as Error).message ?? "network error");
  }
}

function parseHttpUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new MatrixError(400, "M_INVALID_PARAM", "Not a valid URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new MatrixError(400, "M_INVALID_PARAM", "Only http and https URLs can be previewed");
  if (url.username || url.password) throw new MatrixError(400, "M_INVALID_PARAM", "URLs with credentials are not previewed");
  return url;
}

async function fetchChecked(url: URL, limits: FetchLimits, signal: AbortSignal): Promise<Response> {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);
  if (addresses.length === 0) throw unreachable("the host name does not resolve");
  if (!limits.allowPrivateAddresses && addresses.some(isBlockedAddress)) throw blocked();
  const headers: Record<string, string> = { "user-agent": "Matrix homeserver URL preview", accept: "text/html, image/*;q=0.9, */*;q=0.5" };
  let target = url.href;
  if (url.protocol === "http:" && !isIP(host)) {
    const pinned = new URL(url.href);
    const address = addresses[0]!;
    pinned.hostname = isIP(address) === 6 ? `[${address}]` : address;
    target = pinned.href;
    headers.host = url.host;
  }
  return fetch(target, { redirect: "manual", signal, headers, ...(limits.tls && url.protocol === "https:" ? { tls: limits.tls } : {}) });
}

async function readLimited(response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new MatrixError(502, "M_TOO_LARGE", "The URL's content is too large to preview");
  }
  if (response.body === null) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new MatrixError(502, "M_TOO_LARGE", "The URL's content is too large to preview");
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
