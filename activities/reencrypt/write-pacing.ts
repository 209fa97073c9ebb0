/**
 * How the writes of one page are paced, so the API server stays healthy while kmsflow runs. Every write
 * takes a turn (`acquire`) and gives it back with its outcome. Throttling (429 from API Priority and
 * Fairness, or 5xx) pauses everyone for Retry-After (or a short default) and cuts the budget at most once
 * per second; every 20 clean responses grow it again.
 */
export interface WritePacer {
  /** Resolves when the caller may send its next write. */
  acquire(): Promise<void>;
  /** The write went through, after `latencyMs`. */
  succeeded(latencyMs?: number): void;
  throttled(retryAfterMs?: number): void;
  /** The write ended otherwise (a conflict, a failure): its turn is given back, the budget unchanged. */
  released(): void;
}

/** Write latencies the guard's p99 is taken over. */
const LATENCY_SAMPLES = 100;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * With `maxQps` a rate cap; without (0), a window of writes in flight, which is what APF itself limits,
 * narrowed also when write latency climbs past `latencyGuard` times its level at the start (0: no guard).
 */
export function writePacer(maxQps: number, concurrency: number, latencyGuard = 0): WritePacer {
  return maxQps > 0 ? new RateCap(maxQps) : new ConcurrencyWindow(concurrency, Date.now, 200, latencyGuard);
}

/**
 * At most `maxRate` writes per second. Throttling halves the rate, never below a fiftieth of the cap;
 * clean responses grow it by 20 %, up to `maxRate`.
 */
export class RateCap implements WritePacer {
  private rate: number;
  private readonly minRate: number;
  private nextSlotMs = 0;
  private pausedUntilMs = 0;
  private lastCutMs = -Infinity;
  private cleanStreak = 0;

  constructor(
    private readonly maxRate: number,
    private readonly now: () => number = Date.now,
    private readonly defaultPauseMs = 200,
  ) {
    this.rate = maxRate;
    this.minRate = Math.max(1, maxRate / 50);
  }

  get currentRate(): number {
    return this.rate;
  }

  async acquire(): Promise<void> {
    const now = this.now();
    const slot = Math.max(now, this.nextSlotMs, this.pausedUntilMs);
    this.nextSlotMs = slot + 1000 / this.rate;
    if (slot > now) await sleep(slot - now);
  }

  released(): void {}

  throttled(retryAfterMs?: number): void {
    const now = this.now();
    this.cleanStreak = 0;
    if (now - this.lastCutMs >= 1000) {
      this.rate = Math.max(this.minRate, this.rate / 2);
      this.lastCutMs = now;
    }
    const pause = retryAfterMs && retryAfterMs > 0 ? retryAfterMs : this.defaultPauseMs;
    this.pausedUntilMs = Math.max(this.pausedUntilMs, now + pause);
  }

  succeeded(): void {
    if (++this.cleanStreak < 20) return;
    this.cleanStreak = 0;
    this.rate = Math.min(this.maxRate, this.rate * 1.2);
  }
}

/**
 * At most `window` writes in flight, up to the page's concurrency: the API server's own speed sets the
 * rate. Throttling halves the window (never below one write); every 20 clean responses widen it by one.
 * With a latency guard, the p99 of the last 100 write latencies is checked every 20 responses against the
 * median of the first 20: above `latencyGuard` times that, the window halves as on throttling (without a
 * pause) and does not widen, so a production API server's latency stays near its level before the run.
 */
export class ConcurrencyWindow implements WritePacer {
  private window: number;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private pausedUntilMs = 0;
  private lastCutMs = -Infinity;
  private cleanStreak = 0;
  private readonly latencies: number[] = [];
  private baselineMs: number | undefined;

  constructor(
    private readonly maxWindow: number,
    private readonly now: () => number = Date.now,
    private readonly defaultPauseMs = 200,
    private readonly latencyGuard = 0,
  ) {
    this.window = Math.max(1, maxWindow);
  }

  get currentWindow(): number {
    return this.window;
  }

  async acquire(): Promise<void> {
    for (;;) {
      const now = this.now();
      if (this.pausedUntilMs > now) await sleep(this.pausedUntilMs - now);
      else if (this.inFlight < this.window) {
        this.inFlight++;
        return;
      } else await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  succeeded(latencyMs?: number): void {
    this.released();
    if (this.latencyGuard > 0 && latencyMs !== undefined) {
      this.latencies.push(latencyMs);
      if (this.latencies.length > LATENCY_SAMPLES) this.latencies.shift();
    }
    if (++this.cleanStreak < 20) return;
    this.cleanStreak = 0;
    if (this.latencyTooHigh()) this.cut(this.now());
    else this.window = Math.min(this.maxWindow, this.window + 1);
  }

  private latencyTooHigh(): boolean {
    if (this.latencyGuard <= 0 || this.latencies.length < 20) return false;
    this.baselineMs ??= percentile(this.latencies.slice(0, 20), 0.5);
    return percentile(this.latencies, 0.99) > this.latencyGuard * Math.max(this.baselineMs, 1);
  }

  private cut(now: number): void {
    if (now - this.lastCutMs < 1000) return;
    this.window = Math.max(1, Math.floor(this.window / 2));
    this.lastCutMs = now;
  }

  throttled(retryAfterMs?: number): void {
    this.released();
    const now = this.now();
    this.cleanStreak = 0;
    this.cut(now);
    const pause = retryAfterMs && retryAfterMs > 0 ? retryAfterMs : this.defaultPauseMs;
    this.pausedUntilMs = Math.max(this.pausedUntilMs, now + pause);
  }

  released(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }
}
