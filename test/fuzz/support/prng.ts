/** A small seeded PRNG (mulberry32): the same seed gives the same run, so a failure reproduces. */
export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  string(maxLength: number): string {
    const codes: number[] = [];
    for (let length = this.int(0, maxLength); length > 0; length--) {
      // Mostly printable ASCII, some control characters, some beyond ASCII (lone surrogates included).
      const roll = this.next();
      codes.push(roll < 0.8 ? this.int(0x20, 0x7e) : roll < 0.9 ? this.int(0, 0x1f) : this.int(0xa0, 0xffff));
    }
    return String.fromCharCode(...codes);
  }
}
