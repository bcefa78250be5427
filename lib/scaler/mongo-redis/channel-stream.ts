import type { ScalerMessage } from '../scaler.interface.js';

/**
 * What an instance has delivered of one channel, and the messages that arrived ahead of a gap.
 * Redis may hand over messages of two publishers in another order than their seqs (each publishes
 * after its own insert), and drops what arrives while a connection is down; the stream puts them
 * back in order and asks for the missing ones from the store.
 */
export class ChannelStream {
  /** Messages that arrived before the stream knew where it starts. */
  early: ScalerMessage[] | null = [];
  /** Messages ahead of a gap, by seq. */
  readonly ahead = new Map<number, ScalerMessage>();
  gapTimer?: NodeJS.Timeout;
  filling = false;

  constructor(
    readonly channel: string,
    public epoch = '',
    public lastSeq = 0,
  ) {}

  /** Accepts messages in any order and calls `deliver` with the next ones in order. */
  accept(message: ScalerMessage, deliver: (message: ScalerMessage) => void): void {
    if (message.epoch !== this.epoch) {
      // A new history: start over from it.
      this.epoch = message.epoch;
      this.lastSeq = message.seq - 1;
      this.ahead.clear();
    }
    if (message.seq <= this.lastSeq) return;
    if (message.seq > this.lastSeq + 1) {
      this.ahead.set(message.seq, message);
      return;
    }
    deliver(message);
    this.lastSeq = message.seq;
    for (let next = this.ahead.get(this.lastSeq + 1); next; next = this.ahead.get(this.lastSeq + 1)) {
      this.ahead.delete(next.seq);
      deliver(next);
      this.lastSeq = next.seq;
    }
  }

  /** Whether messages wait behind a gap. */
  get hasGap(): boolean {
    return this.ahead.size > 0;
  }

  /** Skips to just before the oldest waiting message (what is missing is gone from the store too). */
  skipGap(): void {
    if (this.ahead.size === 0) return;
    this.lastSeq = Math.min(...this.ahead.keys()) - 1;
  }
}
