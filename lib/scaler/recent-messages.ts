import type { ScalerMessage } from './scaler.interface.js';

/**
 * The most recent messages of a channel, contiguous by seq and ending with the last one delivered:
 * what an instance serves recoveries from without reading the store. A ring buffer, so that keeping
 * the newest `capacity` messages costs no copying.
 */
export class RecentMessages {
  private readonly ring: Array<ScalerMessage | undefined>;
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<ScalerMessage | undefined>(Math.max(0, capacity));
  }

  /** How many messages are held. */
  get size(): number {
    return this.count;
  }

  /** The seq of the oldest message held; undefined when empty. */
  get firstSeq(): number | undefined {
    return this.count === 0 ? undefined : this.ring[this.start]!.seq;
  }

  /** Appends the message that follows the newest one (the caller keeps them contiguous). */
  push(message: ScalerMessage): void {
    if (this.capacity === 0) return;
    if (this.count < this.capacity) {
      this.ring[(this.start + this.count) % this.capacity] = message;
      this.count += 1;
      return;
    }
    this.ring[this.start] = message;
    this.start = (this.start + 1) % this.capacity;
  }

  /**
   * Puts older messages in front, the last of them just before the oldest held; as many as fit,
   * newest first. Messages that do not join up with what is held are ignored.
   */
  prepend(older: ScalerMessage[]): void {
    const first = this.firstSeq;
    if (first === undefined || older.length === 0) return;
    let index = older.length - 1;
    while (index >= 0 && older[index].seq >= first) index--;
    let expected = first - 1;
    while (index >= 0 && this.count < this.capacity && older[index].seq === expected) {
      this.start = (this.start - 1 + this.capacity) % this.capacity;
      this.ring[this.start] = older[index];
      this.count += 1;
      index--;
      expected--;
    }
  }

  /** The messages after `seq`, oldest first; the caller checks that `seq + 1 >= firstSeq`. */
  after(seq: number): ScalerMessage[] {
    const first = this.firstSeq;
    if (first === undefined) return [];
    const skip = Math.max(0, seq + 1 - first);
    const result: ScalerMessage[] = [];
    for (let offset = skip; offset < this.count; offset++) {
      result.push(this.ring[(this.start + offset) % this.capacity]!);
    }
    return result;
  }

  clear(): void {
    this.ring.fill(undefined);
    this.start = 0;
    this.count = 0;
  }
}
