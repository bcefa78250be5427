import { describe, expect, it } from 'vitest';
import { MergedRangeReader, type SeqRange } from '../../lib/scaler/mongo-redis/merged-range-reader.js';

interface Item {
  c: string;
  s: number;
}

/** A store of `count` seqs per channel that records each query and answers when told to. */
function fakeStore(channels: string[], count: number) {
  const items: Item[] = channels.flatMap((c) => Array.from({ length: count }, (_, i) => ({ c, s: count - i })));
  const queries: SeqRange[][] = [];
  const pending: Array<() => void> = [];
  const query = (ranges: SeqRange[]) => {
    queries.push(ranges);
    return new Promise<Item[]>((resolve) =>
      pending.push(() =>
        // Unordered on purpose, and every item of the channels asked about, in range or not.
        resolve(items.filter((item) => ranges.some((range) => range.channel === item.c))),
      ),
    );
  };
  const answerAll = async () => {
    while (pending.length > 0) {
      pending.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { query, queries, answerAll };
}

describe('MergedRangeReader', () => {
  it('sends the ranges asked for in one turn as one query, and gives each caller its own range in order', async () => {
    const store = fakeStore(['a', 'b'], 10);
    const reader = new MergedRangeReader<Item>(store.query, 1);
    const reads = [reader.read('a', 2, 5), reader.read('b', 0, 3), reader.read('a', 8, 100)];
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.queries).toHaveLength(1);
    expect(store.queries[0].map((range) => range.channel)).toEqual(['a', 'b', 'a']);
    await store.answerAll();
    expect((await Promise.all(reads)).map((items) => items.map((item) => item.s))).toEqual([
      [3, 4, 5],
      [1, 2, 3],
      [9, 10],
    ]);
  });

  it('keeps at most maxConcurrent queries in flight; what waits meanwhile goes in the next one', async () => {
    const store = fakeStore(['a', 'b', 'c'], 5);
    const reader = new MergedRangeReader<Item>(store.query, 1);
    const first = reader.read('a', 0, 5);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [reader.read('b', 0, 2), reader.read('c', 3, 5)];
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.queries).toHaveLength(1);
    await store.answerAll();
    // The next query leaves once the first one is answered, in a later turn.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.queries).toHaveLength(2);
    await store.answerAll();
    expect(store.queries[1].map((range) => range.channel)).toEqual(['b', 'c']);
    expect((await first).length).toBe(5);
    expect((await Promise.all(later)).map((items) => items.map((item) => item.s))).toEqual([
      [1, 2],
      [4, 5],
    ]);
  });

  it('answers an empty range without a query, rejects every range of a failed query, and rejects what waits on close', async () => {
    let calls = 0;
    const reader = new MergedRangeReader<Item>(() => {
      calls += 1;
      return Promise.reject(new Error('store down'));
    }, 1);
    expect(await reader.read('a', 5, 5)).toEqual([]);
    expect(calls).toBe(0);
    const failing = [reader.read('a', 0, 1), reader.read('b', 0, 1)];
    await expect(Promise.all(failing)).rejects.toThrow('store down');
    expect(calls).toBe(1);
    const waiting = reader.read('a', 0, 1);
    reader.close(new Error('closed'));
    await expect(waiting).rejects.toThrow('closed');
    expect(calls).toBe(1);
  });
});
