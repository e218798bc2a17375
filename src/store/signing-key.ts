import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatSigningKeyFile, generateSigningKey, parseSigningKeyFile, type SigningKey } from "../util/signing";

/**
 * The server's ed25519 signing key, generated on first start and kept as
 * `<data_dir>/signing.key` (Synapse's format, so it can be moved between servers).
 * With `dataDir === null` (ephemeral) it lives only in memory.
 */
export async function loadOrCreateSigningKey(dataDir: string | null): Promise<SigningKey> {
  if (dataDir === null) return generateSigningKey();
  const path = join(dataDir, "signing.key");
  if (existsSync(path)) return parseSigningKeyFile(await Bun.file(path).text());
  mkdirSync(dataDir, { recursive: true });
  const key = generateSigningKey();
  writeFileSync(path, formatSigningKeyFile(key), { mode: 0o600 });
  return key;
}
