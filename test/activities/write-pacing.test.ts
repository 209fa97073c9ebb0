import { describe, expect, it } from 'vitest';
import { ConcurrencyWindow, RateCap } from '../../activities/reencrypt/write-pacing';

describe('a rate cap', () => {
  it('halves at most once per second on throttling, never below its floor, and recovers on clean responses', () => {
    let now = 0;
    const rate = new RateCap(400, () => now);
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
    const rate = new RateCap(1000);
    rate.throttled(120);
    const started = Date.now();
    await rate.acquire();
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });
});

describe('a window of writes in flight (no rate cap)', () => {
  it('lets `concurrency` writes through at once and makes the next wait for a turn', async () => {
    const window = new ConcurrencyWindow(3);
    await Promise.all([window.acquire(), window.acquire(), window.acquire()]);
    let fourth = false;
    const waiting = window.acquire().then(() => (fourth = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fourth).toBe(false);
    window.succeeded();
    await waiting;
    expect(fourth).toBe(true);
  });

  it('halves at most once per second on throttling, never below one write, and widens by one per 20 clean responses', async () => {
    let now = 0;
    const window = new ConcurrencyWindow(16, () => now, 0);
    const turn = async () => window.acquire();
    for (const _ of [1, 2]) {
      await turn();
      window.throttled();
    }
    expect(window.currentWindow).toBe(8);
    for (let i = 0; i < 10; i++) {
      now += 1000;
      await turn();
      window.throttled();
    }
    expect(window.currentWindow).toBe(1);
    for (let i = 0; i < 20 * 3; i++) {
      await turn();
      window.succeeded();
    }
    expect(window.currentWindow).toBe(4);
    for (let i = 0; i < 20 * 100; i++) {
      await turn();
      window.succeeded();
    }
    expect(window.currentWindow).toBe(16);
  });

  it('pauses every caller for Retry-After', async () => {
    const window = new ConcurrencyWindow(4);
    await window.acquire();
    window.throttled(120);
    const started = Date.now();
    await window.acquire();
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });
});
