import { describe, expect, it } from 'vitest';
import { ChannelStream } from '../../lib/scaler/mongo-redis/channel-stream.js';
import type { ScalerMessage } from '../../lib/scaler/scaler.interface.js';

const message = (seq: number, epoch = 'e1'): ScalerMessage => ({ channel: 'c', topic: 't', data: seq, seq, epoch });

function deliveredSeqs(stream: ChannelStream, seqs: number[], epoch = 'e1'): number[] {
  const delivered: number[] = [];
  for (const seq of seqs) stream.accept(message(seq, epoch), (m) => delivered.push(m.seq));
  return delivered;
}

describe('ChannelStream', () => {
  it('delivers in seq order whatever order messages arrive in', () => {
    const stream = new ChannelStream('c', 'e1', 0);
    expect(deliveredSeqs(stream, [2, 3, 1, 5, 4])).toEqual([1, 2, 3, 4, 5]);
    expect(stream.lastSeq).toBe(5);
    expect(stream.hasGap).toBe(false);
  });

  it('drops duplicates and what it already delivered', () => {
    const stream = new ChannelStream('c', 'e1', 10);
    expect(deliveredSeqs(stream, [9, 10, 11, 11, 12])).toEqual([11, 12]);
  });

  it('holds messages behind a gap until the gap is filled or skipped', () => {
    const stream = new ChannelStream('c', 'e1', 0);
    expect(deliveredSeqs(stream, [3, 4])).toEqual([]);
    expect(stream.hasGap).toBe(true);
    stream.skipGap();
    expect(stream.lastSeq).toBe(2);
    expect(deliveredSeqs(stream, [3])).toEqual([3, 4]);
  });

  it('starts over on a new epoch', () => {
    const stream = new ChannelStream('c', 'e1', 40);
    expect(deliveredSeqs(stream, [1, 2], 'e2')).toEqual([1, 2]);
    expect(stream.epoch).toBe('e2');
  });
});
