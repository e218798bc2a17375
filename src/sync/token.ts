// Sync tokens (DESIGN.md "Streams, tokens and sync"): "s<pos>_<typing>_<toDevice>".
// <pos> is the stream position everything up to which was delivered, <typing> the
// in-memory typing serial, <toDevice> the position of the last send-to-device
// message delivered (the device acknowledges it by syncing with this token).
// Tokens parse strictly; a malformed token or one from the future is
// 400 M_INVALID_PARAM, never a hang or a 500.
import { MatrixError } from "../http/errors";

export interface SyncToken {
  pos: number;
  typing: number;
  toDevice: number;
}

export function formatSyncToken(token: SyncToken): string {
  return `s${token.pos}_${token.typing}_${token.toDevice}`;
}

export function parseSyncToken(text: string, current: { pos: number; typing: number }): SyncToken {
  const match = /^s(\d{1,15})_(\d{1,15})_(\d{1,15})$/.exec(text);
  if (!match) throw new MatrixError(400, "M_INVALID_PARAM", "Invalid sync token in 'since'");
  const token = { pos: Number(match[1]), typing: Number(match[2]), toDevice: Number(match[3]) };
  if (token.pos > current.pos || token.toDevice > current.pos) {
    throw new MatrixError(400, "M_INVALID_PARAM", "The sync token is from the future");
  }
  // The typing serial lives in memory and restarts with the server: an older
  // server's serial is treated as "everything changed" rather than refused.
  if (token.typing > current.typing) token.typing = 0;
  return token;
}
