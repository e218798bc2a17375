/**
 * A value made on first use. Prepared statements are built this way so that
 * opening the store costs nothing for statements a run never needs (start-up
 * time is a feature: throwaway instances start often).
 */
export function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}
