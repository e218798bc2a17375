/** Milliseconds since the epoch; one place so tests can reason about it. */
export function now(): number {
  return Date.now();
}
