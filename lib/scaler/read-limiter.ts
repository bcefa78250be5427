/**
 * Bounds how many store reads run at once, so that a burst of recoveries (every client of a dead
 * instance arriving together) queues behind a few reads instead of starving the writes that
 * publishes wait for. First come, first served.
 */
export class ReadLimiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly maxConcurrent: number) {}

  async run<T>(read: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxConcurrent) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running += 1;
    try {
      return await read();
    } finally {
      const next = this.waiting.shift();
      // The turn passes straight to the next read: `running` stays the same.
      if (next) next();
      else this.running -= 1;
    }
  }
}
