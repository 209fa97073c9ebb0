/**
 * A write budget shared by the workers of one page: at most `rate` requests per second. Throttling
 * (429/5xx) halves the rate at most once per second and pauses everyone for Retry-After (or a short
 * default); every 20 clean responses grow it by 20 % again, up to `maxRate`.
 */
export class AdaptiveRate {
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

  /** Resolves when the caller may send its next request. */
  async acquire(): Promise<void> {
    const now = this.now();
    const slot = Math.max(now, this.nextSlotMs, this.pausedUntilMs);
    this.nextSlotMs = slot + 1000 / this.rate;
    if (slot > now) await new Promise((resolve) => setTimeout(resolve, slot - now));
  }

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
