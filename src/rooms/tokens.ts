// Pagination tokens. A token names a point in the stream: "s<N>" is the point
// just after the event at stream position N. Sync tokens add more parts after an
// underscore ("s<N>_..."); /messages accepts those too, as the spec requires of
// prev_batch. Tokens parse strictly: anything else is 400 M_INVALID_PARAM.
import { MatrixError } from "../http/errors";

export function positionToken(pos: number): string {
  return `s${pos}`;
}

export function parsePositionToken(token: string, name = "from"): number {
  const match = /^s(\d{1,15})(?:_[A-Za-z0-9_.~-]*)?$/.exec(token);
  if (!match) throw new MatrixError(400, "M_INVALID_PARAM", `Invalid pagination token in '${name}'`);
  return Number(match[1]);
}
