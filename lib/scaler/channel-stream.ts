import { RecentMessages } from './recent-messages.js';
import type { ScalerMessage } from './scaler.interface.js';

/**
 * What an instance has delivered of one channel, the recent messages it can recover clients from,
 * and the messages that arrived ahead of a gap. Redis may hand over messages of two publishers in
 * another order than their seqs (each publishes after its own insert), and drops what arrives while
 * a connection is down; the stream puts them back in order, and its scaler fills the gaps.
 */
export class ChannelStream {
  /** Messages that arrived before the stream knew where it starts; `null` once started. */
  early: ScalerMessage[] | null = [];
  /** Messages ahead of a gap, by seq; at most `maxAhead` (the rest is read back later). */
  readonly ahead = new Map<number, ScalerMessage>();
  /** The newest delivered messages, contiguous, ending at `lastSeq`. */
  readonly recent: RecentMessages;
  gapTimer?: NodeJS.Timeout;
  /** After a Redis reconnect: when to read on by range if nothing shows what was missed. */
  catchUpTimer?: NodeJS.Timeout;
  /** When the current gap was first seen (ms since epoch); undefined without a gap. */
  gapSince?: number;
  filling = false;
  /** The read that fills `recent` from the store when the stream starts, while it runs. */
  warmUp?: Promise<void>;
  /** A read of everything after `lastSeq` was asked for while a fill was running. */
  readOnPending = false;
  epoch = '';
  lastSeq = 0;

  constructor(
    readonly channel: string,
    recentCapacity: number,
    private readonly maxAhead = 10_000,
  ) {
    this.recent = new RecentMessages(recentCapacity);
  }

  /** Whether the stream knows where it starts. */
  get started(): boolean {
    return this.early === null;
  }

  /** Sets the starting position and delivers what arrived meanwhile. */
  start(epoch: string, lastSeq: number, deliver: (message: ScalerMessage) => void): void {
    this.epoch = epoch;
    this.lastSeq = lastSeq;
    const early = this.early ?? [];
    this.early = null;
    for (const message of early) this.accept(message, deliver);
  }

  /** Accepts messages in any order and calls `deliver` with the next ones in order. */
  accept(message: ScalerMessage, deliver: (message: ScalerMessage) => void): void {
    if (this.early) {
      this.early.push(message);
      return;
    }
    if (message.epoch !== this.epoch) {
      // A new history: start over from it.
      this.epoch = message.epoch;
      this.lastSeq = message.seq - 1;
      this.ahead.clear();
      this.recent.clear();
    }
    if (message.seq <= this.lastSeq) return;
    if (message.seq > this.lastSeq + 1) {
      // NOTE: beyond the cap, messages are not kept: the store has them, and gap filling reads on.
      if (this.ahead.size < this.maxAhead) this.ahead.set(message.seq, message);
      this.gapSince ??= Date.now();
      return;
    }
    this.deliverNext(message, deliver);
    for (let next = this.ahead.get(this.lastSeq + 1); next; next = this.ahead.get(this.lastSeq + 1)) {
      this.ahead.delete(next.seq);
      this.deliverNext(next, deliver);
    }
    if (this.ahead.size === 0) this.gapSince = undefined;
  }

  /** Whether messages wait behind a gap. */
  get hasGap(): boolean {
    return this.ahead.size > 0;
  }

  /** The seq of the oldest message waiting behind the gap. */
  /** The newest seq the stream has seen: the last delivered one or the newest waiting one. */
  get newestSeq(): number {
    let newest = this.lastSeq;
    for (const seq of this.ahead.keys()) if (seq > newest) newest = seq;
    return newest;
  }

  get firstAheadSeq(): number | undefined {
    let first: number | undefined;
    for (const seq of this.ahead.keys()) if (first === undefined || seq < first) first = seq;
    return first;
  }

  /**
   * Gives up on the missing messages (they can never come: nothing is stored) and goes on from the
   * oldest waiting one, which reaches subscribers as a visible jump in seqs.
   */
  skipGap(deliver: (message: ScalerMessage) => void): void {
    const first = this.firstAheadSeq;
    if (first === undefined) return;
    this.lastSeq = first - 1;
    this.recent.clear();
    const next = this.ahead.get(first)!;
    this.ahead.delete(first);
    this.accept(next, deliver);
  }

  /**
   * The delivered messages after `seq` when the recent messages cover them all, else undefined.
   * `seq` must not be ahead of `lastSeq`.
   */
  recentAfter(seq: number): ScalerMessage[] | undefined {
    if (seq > this.lastSeq) return undefined;
    if (seq === this.lastSeq) return [];
    const first = this.recent.firstSeq;
    if (first === undefined || seq + 1 < first) return undefined;
    return this.recent.after(seq);
  }

  /**
   * Keeps messages read from the store that end just before the oldest recent one (or at
   * `lastSeq` when none is held), so that the next recovery finds them in memory.
   */
  addOlder(older: ScalerMessage[]): void {
    if (older.length === 0) return;
    if (this.recent.size > 0) return this.recent.prepend(older);
    if (older[older.length - 1].seq !== this.lastSeq) return;
    const start = Math.max(0, older.length - this.recent.capacity);
    for (let index = start; index < older.length; index++) {
      if (index > start && older[index].seq !== older[index - 1].seq + 1) return this.recent.clear();
      this.recent.push(older[index]);
    }
  }

  /** The first seq the recent messages cover (`lastSeq + 1` when none are held). */
  get coveredFrom(): number {
    return this.recent.firstSeq ?? this.lastSeq + 1;
  }

  private deliverNext(message: ScalerMessage, deliver: (message: ScalerMessage) => void): void {
    this.lastSeq = message.seq;
    this.recent.push(message);
    deliver(message);
  }
}
