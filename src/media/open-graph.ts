// Open Graph tags from an HTML page, for URL previews (spec: preview_url returns
// og:* keys; https://ogp.me). A small scanner over <meta> and <title>, not a full
// HTML parser: only attribute values are read, nothing is executed or fetched.

// Quoted attribute values may contain ">".
const META_TAG = /<meta\b(?:[^>"']|"[^"]*"|'[^']*')*>/gi;
const ATTRIBUTE = /([a-zA-Z_:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/g;
const MAX_VALUE_LENGTH = 1000;

/** og:* properties (first value of each), with <title> and meta description as fallbacks. */
export function openGraphOf(html: string): Record<string, string> {
  const tags: Record<string, string> = {};
  const fallbacks: Record<string, string> = {};
  for (const [tag] of html.matchAll(META_TAG)) {
    const attributes: Record<string, string> = {};
    for (const match of tag.matchAll(ATTRIBUTE)) attributes[match[1]!.toLowerCase()] = decodeEntities(match[2] ?? match[3] ?? match[4] ?? "");
    const key = attributes.property ?? attributes.name;
    const content = attributes.content;
    if (key === undefined || content === undefined) continue;
    const value = content.trim().slice(0, MAX_VALUE_LENGTH);
    if (key.startsWith("og:")) tags[key] ??= value;
    else if (key.toLowerCase() === "description") fallbacks["og:description"] ??= value;
  }
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html);
  if (title) fallbacks["og:title"] = decodeEntities(title[1]!).trim().replace(/\s+/g, " ").slice(0, MAX_VALUE_LENGTH);
  return { ...fallbacks, ...tags };
}

const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (entity, name: string) => {
    if (name[0] === "#") {
      const code = name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
    }
    return NAMED[name.toLowerCase()] ?? entity;
  });
}
