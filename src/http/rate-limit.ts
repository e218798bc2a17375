// Token buckets per (action, key). A key is a user id or a client address.
// Refused requests get 429 M_LIMIT_EXCEEDED with retry_after_ms and Retry-After
// (spec: Client-Server API, "Rate limiting").
import type { Config, RateLimitAction } from "../config";
import { limitExceeded } from "./errors";

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly settings: Config["rate_limits"],
    private readonly clock: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.settings.enabled;
  }

  /** Takes one token for `action` by `key`, or throws M_LIMIT_EXCEEDED. */
  take(action: RateLimitAction, key: string): void {
    const wait = this.consume(action, key);
    if (wait > 0) throw limitExceeded(wait);
  }

  /** Throws M_LIMIT_EXCEEDED if `action` by `key` has no token left, without taking one. */
  check(action: RateLimitAction, key: string): void {
    if (!this.settings.enabled) return;
    const bucket = this.refill(action, key);
    if (bucket.tokens < 1) throw limitExceeded(this.waitMs(action, bucket));
  }

  /** Takes a token if there is one; returns how long to wait otherwise (0 when taken). */
  consume(action: RateLimitAction, key: string): number {
    if (!this.settings.enabled) return 0;
    const bucket = this.refill(action, key);
    if (bucket.tokens < 1) return this.waitMs(action, bucket);
    bucket.tokens -= 1;
    return 0;
  }

  private refill(action: RateLimitAction, key: string): Bucket {
    const { per_second, burst } = this.settings[action];
    const id = `${action}\u0000${key}`;
    const now = this.clock();
    let bucket = this.buckets.get(id);
    if (!bucket) {
      if (this.buckets.size > 100_000) this.forgetFullBuckets();
      bucket = { tokens: burst, updatedMs: now };
      this.buckets.set(id, bucket);
    }
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedMs) / 1000) * per_second);
    bucket.updatedMs = now;
    return bucket;
  }

  private waitMs(action: RateLimitAction, bucket: Bucket): number {
    return Math.max(1, Math.ceil(((1 - bucket.tokens) / this.settings[action].per_second) * 1000));
  }

  /** A full bucket holds no information; dropping it bounds memory. */
  private forgetFullBuckets(): void {
    const now = this.clock();
    for (const [id, bucket] of this.buckets) {
      const action = id.slice(0, id.indexOf("\u0000")) as RateLimitAction;
      const { per_second, burst } = this.settings[action];
      if (bucket.tokens + ((now - bucket.updatedMs) / 1000) * per_second >= burst) this.buckets.delete(id);
    }
  }
}
