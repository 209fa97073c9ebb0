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

  it('with a latency guard, halves when the p99 write latency passes the multiple of its start, and widens again once it is back', async () => {
    let now = 0;
    const window = new ConcurrencyWindow(16, () => now, 0, 3);
    const write = async (latencyMs: number) => {
      await window.acquire();
      window.succeeded(latencyMs);
    };
    for (let i = 0; i < 40; i++) await write(10);
    expect(window.currentWindow).toBe(16);
    // The API server slows down to 5× its starting latency: the window halves, once a second at most.
    for (let i = 0; i < 20; i++) await write(50);
    expect(window.currentWindow).toBe(8);
    for (let i = 0; i < 20; i++) await write(50);
    expect(window.currentWindow).toBe(8);
    now += 1000;
    for (let i = 0; i < 20; i++) await write(50);
    expect(window.currentWindow).toBe(4);
    // Back to its starting latency: it widens by one per 20 writes again once the slow ones left the last 100.
    for (let i = 0; i < 80; i++) await write(10);
    expect(window.currentWindow).toBe(4);
    for (let i = 0; i < 60; i++) await write(10);
    expect(window.currentWindow).toBe(7);
  });

  it('without a guard, latency never narrows the window', async () => {
    const window = new ConcurrencyWindow(4);
    for (let i = 0; i < 200; i++) {
      await window.acquire();
      window.succeeded(i < 40 ? 1 : 1000);
    }
    expect(window.currentWindow).toBe(4);
  });
});
