import { describe, expect, it } from 'vitest';
import { ChannelStream } from '../../lib/scaler/channel-stream.js';
import { RecentMessages } from '../../lib/scaler/recent-messages.js';
import type { ScalerMessage } from '../../lib/scaler/scaler.interface.js';

const message = (seq: number, epoch = 'e1'): ScalerMessage => ({ channel: 'c', topic: 't', data: seq, seq, epoch });

function started(lastSeq: number, recent = 100, maxAhead = 10_000): ChannelStream {
  const stream = new ChannelStream('c', recent, maxAhead);
  stream.start('e1', lastSeq, () => undefined);
  return stream;
}

function deliveredSeqs(stream: ChannelStream, seqs: number[], epoch = 'e1'): number[] {
  const delivered: number[] = [];
  for (const seq of seqs) stream.accept(message(seq, epoch), (m) => delivered.push(m.seq));
  return delivered;
}

describe('ChannelStream', () => {
  it('delivers in seq order whatever order messages arrive in', () => {
    const stream = started(0);
    expect(deliveredSeqs(stream, [2, 3, 1, 5, 4])).toEqual([1, 2, 3, 4, 5]);
    expect(stream.lastSeq).toBe(5);
    expect(stream.hasGap).toBe(false);
    expect(stream.gapSince).toBeUndefined();
  });

  it('drops duplicates and what it already delivered', () => {
    const stream = started(10);
    expect(deliveredSeqs(stream, [9, 10, 11, 11, 12])).toEqual([11, 12]);
  });

  it('holds messages that arrive before it starts, then delivers them from its start', () => {
    const stream = new ChannelStream('c', 10);
    const delivered: number[] = [];
    for (const seq of [4, 5, 6]) stream.accept(message(seq), (m) => delivered.push(m.seq));
    expect(delivered).toEqual([]);
    stream.start('e1', 4, (m) => delivered.push(m.seq));
    expect(delivered).toEqual([5, 6]);
  });

  it('holds messages behind a gap, remembering since when, until the gap is filled or skipped', () => {
    const stream = started(0);
    expect(deliveredSeqs(stream, [3, 4])).toEqual([]);
    expect(stream.hasGap).toBe(true);
    expect(stream.firstAheadSeq).toBe(3);
    expect(stream.gapSince).toBeTypeOf('number');
    const delivered: number[] = [];
    stream.skipGap((m) => delivered.push(m.seq));
    expect(delivered).toEqual([3, 4]);
    expect(stream.lastSeq).toBe(4);
    expect(stream.hasGap).toBe(false);
  });

  it('keeps at most maxAhead messages behind a gap', () => {
    const stream = started(0, 10, 3);
    deliveredSeqs(stream, [5, 6, 7, 8, 9]);
    expect(stream.ahead.size).toBe(3);
  });

  it('starts over on a new epoch', () => {
    const stream = started(40);
    expect(deliveredSeqs(stream, [1, 2], 'e2')).toEqual([1, 2]);
    expect(stream.epoch).toBe('e2');
  });

  it('serves the delivered messages after a seq from memory when it holds them all', () => {
    const stream = started(10, 5);
    expect(stream.recentAfter(10)).toEqual([]);
    expect(stream.recentAfter(9)).toBeUndefined();
    deliveredSeqs(stream, [11, 12, 13, 14, 15, 16, 17]);
    expect(stream.coveredFrom).toBe(13);
    expect(stream.recentAfter(12)?.map((m) => m.seq)).toEqual([13, 14, 15, 16, 17]);
    expect(stream.recentAfter(15)?.map((m) => m.seq)).toEqual([16, 17]);
    expect(stream.recentAfter(11)).toBeUndefined();
    expect(stream.recentAfter(18)).toBeUndefined();
  });

  it('forgets recent messages over a skipped gap: they would not be contiguous', () => {
    const stream = started(0);
    deliveredSeqs(stream, [1, 2, 5]);
    stream.skipGap(() => undefined);
    expect(stream.recentAfter(2)).toBeUndefined();
    expect(stream.recentAfter(4)?.map((m) => m.seq)).toEqual([5]);
  });
});

describe('RecentMessages', () => {
  it('keeps the newest messages up to its capacity', () => {
    const recent = new RecentMessages(3);
    for (let seq = 1; seq <= 5; seq++) recent.push(message(seq));
    expect(recent.size).toBe(3);
    expect(recent.firstSeq).toBe(3);
    expect(recent.after(2).map((m) => m.seq)).toEqual([3, 4, 5]);
    expect(recent.after(4).map((m) => m.seq)).toEqual([5]);
  });

  it('puts older messages in front while they join up and fit', () => {
    const recent = new RecentMessages(5);
    recent.push(message(10));
    recent.push(message(11));
    recent.prepend([message(6), message(7), message(8), message(9), message(10)]);
    expect(recent.after(0).map((m) => m.seq)).toEqual([7, 8, 9, 10, 11]);
    const gapped = new RecentMessages(5);
    gapped.push(message(10));
    gapped.prepend([message(7), message(8)]);
    expect(gapped.after(0).map((m) => m.seq)).toEqual([10]);
  });
});
