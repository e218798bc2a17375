import { MatrixError } from "./errors";

/** A `limit` query parameter: a non-negative integer, or 400 M_INVALID_PARAM. */
export function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const limit = Number(text);
  if (text.trim() === "" || !Number.isInteger(limit) || limit < 0) {
    throw new MatrixError(400, "M_INVALID_PARAM", "limit must be a non-negative integer");
  }
  return limit;
}
