/** One channel's range of seqs, `after < seq <= upTo`. */
export interface SeqRange {
  channel: string;
  after: number;
  upTo: number;
}

/** A range waiting to go out with the next merged query. */
interface WaitingRange<T> extends SeqRange {
  resolve(items: T[]): void;
  reject(error: unknown): void;
}

/** Ranges merged into one query at most. */
const MAX_RANGES_PER_QUERY = 100;

/**
 * Reads ranges of seqs of many channels with few queries: the ranges asked for in one turn of the
 * event loop, or while `maxConcurrent` queries run, go together in the next query, and each caller
 * gets the items of its own range, in seq order. On FerretDB 1.x every query but one by `_id`
 * scans the whole collection, so one query for many ranges costs what one range costs.
 */
export class MergedRangeReader<T extends { c: string; s: number }> {
  private waiting: Array<WaitingRange<T>> = [];
  private running = 0;
  private timer?: NodeJS.Immediate;

  /**
   * @param query reads every item in any of the ranges (in any order).
   * @param maxConcurrent queries in flight at once.
   */
  constructor(
    private readonly query: (ranges: SeqRange[]) => Promise<T[]>,
    private readonly maxConcurrent: number,
  ) {}

  /** The items of `channel` with `after < seq <= upTo`, in seq order. */
  read(channel: string, after: number, upTo: number): Promise<T[]> {
    if (upTo <= after) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.waiting.push({ channel, after, upTo, resolve, reject });
      this.schedule();
    });
  }

  /** Rejects what waits with `error`; queries in flight finish. */
  close(error: Error): void {
    clearImmediate(this.timer);
    this.timer = undefined;
    for (const range of this.waiting.splice(0)) range.reject(error);
  }

  private schedule(): void {
    if (this.timer || this.running >= this.maxConcurrent) return;
    // After the current turn of the event loop: the ranges asked for in it go out together.
    this.timer = setImmediate(() => void this.run());
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    if (this.waiting.length === 0 || this.running >= this.maxConcurrent) return;
    const batch = this.waiting.splice(0, MAX_RANGES_PER_QUERY);
    this.running += 1;
    try {
      const byChannel = new Map<string, T[]>();
      for (const item of await this.query(batch)) {
        const list = byChannel.get(item.c);
        if (list) list.push(item);
        else byChannel.set(item.c, [item]);
      }
      for (const list of byChannel.values()) list.sort((a, b) => a.s - b.s);
      for (const range of batch) {
        range.resolve(
          (byChannel.get(range.channel) ?? []).filter((item) => item.s > range.after && item.s <= range.upTo),
        );
      }
    } catch (error) {
      for (const range of batch) range.reject(error);
    } finally {
      this.running -= 1;
      if (this.waiting.length > 0) this.schedule();
    }
  }
}
