/**
 * A write budget shared by the workers of one page: at most `rate` requests per second, halved on
 * throttling (and paused for Retry-After), grown back by 10 % per 50 clean responses up to `maxRate`.
 */
export class AdaptiveRate {
  private rate: number;
  private nextSlotMs = 0;
  private pausedUntilMs = 0;
  private cleanStreak = 0;

  constructor(
    private readonly maxRate: number,
    private readonly now: () => number = Date.now,
  ) {
    this.rate = maxRate;
  }

  get currentRate(): number {
    return this.rate;
  }

  /** Resolves when the caller may send its next request. */
  async acquire(): Promise<void> {
    const now = this.now();
    const slot = Math.max(now, this.nextSlotMs, this.pausedUntilMs);
    this.nextSlotMs = slot + 1000 / this.rate;
    if (slot > now) await new Promise((resolve) => setTimeout(resolve, slot - now));
  }

  throttled(retryAfterMs?: number): void {
    this.cleanStreak = 0;
    this.rate = Math.max(1, this.rate / 2);
    const pause = retryAfterMs ?? 1000 / this.rate;
    this.pausedUntilMs = Math.max(this.pausedUntilMs, this.now() + pause);
  }

  succeeded(): void {
    if (++this.cleanStreak < 50) return;
    this.cleanStreak = 0;
    this.rate = Math.min(this.maxRate, this.rate * 1.1);
  }
}
