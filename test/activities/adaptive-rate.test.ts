import { describe, expect, it } from 'vitest';
import { AdaptiveRate } from '../../activities/reencrypt/adaptive-rate';

describe('adaptive write rate', () => {
  it('halves at most once per second on throttling, never below its floor, and recovers on clean responses', () => {
    let now = 0;
    const rate = new AdaptiveRate(400, () => now);
    rate.throttled();
    rate.throttled();
    expect(rate.currentRate).toBe(200);
    for (let i = 0; i < 10; i++) {
      now += 1000;
      rate.throttled();
    }
    expect(rate.currentRate).toBe(8);
    for (let i = 0; i < 20 * 5; i++) rate.succeeded();
    expect(rate.currentRate).toBeCloseTo(8 * 1.2 ** 5, 5);
    for (let i = 0; i < 20 * 100; i++) rate.succeeded();
    expect(rate.currentRate).toBe(400);
  });

  it('pauses every caller for Retry-After', async () => {
    const rate = new AdaptiveRate(1000);
    rate.throttled(120);
    const started = Date.now();
    await rate.acquire();
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });
});
