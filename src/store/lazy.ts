import { sql } from "drizzle-orm";

/**
 * A value made on first use. Prepared statements are built this way so that
 * opening the store costs nothing for statements a run never needs (start-up
 * time is a feature: throwaway instances start often).
 */
export function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

/**
 * A LIMIT written into the SQL instead of bound. SQLite's planner reads the
 * value of a bound LIMIT, so binding one expires the prepared statement and
 * every execution prepares it again (about 7 µs, more than the query itself
 * on the sync paths). drizzle binds a number given to `.limit()`; an SQL
 * chunk is written as it is, hence the cast.
 */
export function literalLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new Error(`invalid limit ${limit}`);
  return sql.raw(String(limit)) as unknown as number;
}

/**
 * Prepared statements that differ only in their (literal) LIMIT, one per power
 * of two: a request for `limit` rows runs the smallest bucket that holds them,
 * and the caller keeps the first `limit` rows. Callers cap their limits, so
 * there are a dozen statements at most.
 */
export function byLimitBucket<T>(make: (bucket: number) => T): (limit: number) => T {
  const made = new Map<number, T>();
  return (limit) => {
    let bucket = 1;
    while (bucket < limit) bucket *= 2;
    let statement = made.get(bucket);
    if (statement === undefined) made.set(bucket, (statement = make(bucket)));
    return statement;
  };
}
