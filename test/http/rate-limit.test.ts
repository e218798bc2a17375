// The token-bucket rate limiter, on an injected clock.
import { describe, expect, test } from "bun:test";
import { DEFAULT_CONFIG, type Config } from "../../src/config";
import { MatrixError } from "../../src/http/errors";
import { RateLimiter } from "../../src/http/rate-limit";

function settings(overrides: Partial<Config["rate_limits"]> = {}): Config["rate_limits"] {
  return { ...structuredClone(DEFAULT_CONFIG.rate_limits), enabled: true, ...overrides };
}

/** A limiter whose clock only moves when the test says so. */
function limiterWith(overrides: Partial<Config["rate_limits"]> = {}) {
  let nowMs = 1_000_000;
  const limiter = new RateLimiter(settings(overrides), () => nowMs);
  return { limiter, advance: (ms: number) => (nowMs += ms) };
}

function thrown(work: () => void): MatrixError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(MatrixError);
    return error as MatrixError;
  }
  throw new Error("expected M_LIMIT_EXCEEDED, nothing was thrown");
}

describe("RateLimiter", () => {
  test("allows a burst, then refuses with 429 M_LIMIT_EXCEEDED, retry_after_ms and Retry-After", () => {
    const { limiter } = limiterWith({ login: { per_second: 0.5, burst: 3 } });
    for (let i = 0; i < 3; i++) limiter.take("login", "1.2.3.4");
    const error = thrown(() => limiter.take("login", "1.2.3.4"));
    expect(error.status).toBe(429);
    expect(error.errcode).toBe("M_LIMIT_EXCEEDED");
    // Empty bucket, one token every 2 s.
    expect(error.toJSON()).toEqual({ errcode: "M_LIMIT_EXCEEDED", error: expect.any(String), retry_after_ms: 2000 });
    expect(error.headers).toEqual({ "Retry-After": "2" });
  });

  test("refills with time, at per_second", () => {
    const { limiter, advance } = limiterWith({ login: { per_second: 0.5, burst: 2 } });
    limiter.take("login", "k");
    limiter.take("login", "k");
    expect(limiter.consume("login", "k")).toBe(2000);
    advance(1000);
    // Half a token: still refused, and the wait shrinks accordingly.
    expect(limiter.consume("login", "k")).toBe(1000);
    advance(999);
    expect(limiter.consume("login", "k")).toBe(1);
    advance(1);
    expect(limiter.consume("login", "k")).toBe(0);
    expect(limiter.consume("login", "k")).toBeGreaterThan(0);
  });

  test("waiting the advertised retry_after_ms is enough", () => {
    const { limiter, advance } = limiterWith({ message: { per_second: 3, burst: 1 } });
    limiter.take("message", "@u:x");
    const wait = thrown(() => limiter.take("message", "@u:x")).extra.retry_after_ms as number;
    expect(wait).toBe(334); // ceil(1000 / 3)
    advance(wait - 1);
    expect(() => limiter.take("message", "@u:x")).toThrow(MatrixError);
    advance(1);
    expect(() => limiter.take("message", "@u:x")).not.toThrow();
  });

  test("never holds more than burst, however long it was idle", () => {
    const { limiter, advance } = limiterWith({ join: { per_second: 10, burst: 4 } });
    limiter.take("join", "k");
    advance(24 * 60 * 60 * 1000);
    for (let i = 0; i < 4; i++) limiter.take("join", "k");
    expect(() => limiter.take("join", "k")).toThrow(MatrixError);
  });

  test("keys are independent", () => {
    const { limiter } = limiterWith({ login: { per_second: 0.1, burst: 1 } });
    limiter.take("login", "10.0.0.1");
    expect(() => limiter.take("login", "10.0.0.1")).toThrow(MatrixError);
    expect(() => limiter.take("login", "10.0.0.2")).not.toThrow();
  });

  test("actions are independent, each with its own settings", () => {
    const { limiter } = limiterWith({ login: { per_second: 0.1, burst: 1 }, registration: { per_second: 0.1, burst: 2 } });
    limiter.take("login", "k");
    expect(() => limiter.take("login", "k")).toThrow(MatrixError);
    limiter.take("registration", "k");
    limiter.take("registration", "k");
    expect(() => limiter.take("registration", "k")).toThrow(MatrixError);
  });

  test("check() refuses an empty bucket without taking a token", () => {
    const { limiter, advance } = limiterWith({ failed_login_per_account: { per_second: 1, burst: 2 } });
    for (let i = 0; i < 10; i++) limiter.check("failed_login_per_account", "@a:x");
    expect(limiter.consume("failed_login_per_account", "@a:x")).toBe(0);
    expect(limiter.consume("failed_login_per_account", "@a:x")).toBe(0);
    const error = thrown(() => limiter.check("failed_login_per_account", "@a:x"));
    expect(error.extra.retry_after_ms).toBe(1000);
    advance(1000);
    expect(() => limiter.check("failed_login_per_account", "@a:x")).not.toThrow();
    expect(() => limiter.check("failed_login_per_account", "@a:x")).not.toThrow();
    expect(limiter.consume("failed_login_per_account", "@a:x")).toBe(0);
  });

  test("refused attempts do not push the bucket further into debt", () => {
    const { limiter, advance } = limiterWith({ login: { per_second: 1, burst: 1 } });
    limiter.take("login", "k");
    for (let i = 0; i < 50; i++) expect(limiter.consume("login", "k")).toBeGreaterThan(0);
    advance(1000);
    expect(limiter.consume("login", "k")).toBe(0);
  });

  test("when disabled, nothing is ever limited", () => {
    const limiter = new RateLimiter(settings({ enabled: false, login: { per_second: 0.001, burst: 1 } }), () => 0);
    expect(limiter.enabled).toBe(false);
    for (let i = 0; i < 100; i++) {
      limiter.take("login", "k");
      limiter.check("login", "k");
      expect(limiter.consume("login", "k")).toBe(0);
    }
  });

  test("retry_after_ms is at least 1 even when a token is almost there", () => {
    const { limiter, advance } = limiterWith({ media_upload: { per_second: 1000, burst: 1 } });
    limiter.take("media_upload", "k");
    advance(0.5);
    const wait = limiter.consume("media_upload", "k");
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(thrown(() => limiter.take("media_upload", "k")).headers["Retry-After"]).toBe("1");
  });

  test("forgetting full buckets to bound memory keeps the state of drained ones", () => {
    const { limiter, advance } = limiterWith({ login: { per_second: 0.001, burst: 1 } });
    limiter.take("login", "drained");
    // check() creates full buckets without taking from them.
    for (let i = 0; i <= 100_000; i++) limiter.check("login", `idle-${i}`);
    advance(1);
    limiter.check("login", "one-more"); // over the cap: full buckets are dropped
    const size = (limiter as unknown as { buckets: Map<string, unknown> }).buckets.size;
    expect(size).toBeLessThan(10);
    expect(() => limiter.take("login", "drained")).toThrow(MatrixError);
    // A forgotten bucket comes back full.
    expect(() => limiter.take("login", "idle-5")).not.toThrow();
  });
});
