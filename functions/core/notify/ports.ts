/** Outcome of taking one slot from a pipeline's notification budget. */
export type Quota = { allowed: boolean; remaining: number; resetAt: Date };

/**
 * Fixed-window counter per key (a pipeline): at most `limit` acquisitions per `windowSeconds`. Implementations must
 * be atomic across concurrent invocations (DynamoDB: conditional increment on a counter item with a TTL).
 */
export type RateLimiter = {
  tryAcquire(key: string, limit: number, windowSeconds: number, now: Date): Promise<Quota>;
};
