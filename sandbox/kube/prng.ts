/**
 * A small seeded pseudo-random generator (xorshift32 with a multiplicative output scramble), so that
 * estates and fault decisions are reproducible from a seed. Not for cryptography.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    // xorshift must never hold 0; mix the seed so that small seeds (1, 2, 3) diverge quickly.
    const mixed = Math.imul((seed | 0) ^ 0x5bd1e995, 0x27d4eb2d) >>> 0;
    this.state = mixed === 0 ? 0x9e3779b9 : mixed;
    for (let i = 0; i < 4; i++) this.nextUint32();
  }

  nextUint32(): number {
    let x = this.state;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.state = x;
    return Math.imul(x, 0x2545f491) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** Lower-case hex string of `length` characters. */
  hex(length: number): string {
    let out = '';
    while (out.length < length) out += this.nextUint32().toString(16).padStart(8, '0');
    return out.slice(0, length);
  }

  /** A version-4-shaped UUID drawn from this generator (deterministic, unlike crypto.randomUUID). */
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[this.nextUint32() & 3]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

/**
 * A uniform number in [0, 1) that depends only on (seed, text, n): decisions keyed by object and
 * attempt stay reproducible whatever order concurrent clients send their requests in.
 */
export function hashUnit(seed: number, text: string, n: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  h = Math.imul(h ^ n, 0x01000193) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}
