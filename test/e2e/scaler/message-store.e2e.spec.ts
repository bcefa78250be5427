import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { inject } from 'vitest';
import type { ChannelPosition } from '../../../lib/protocol/frames.js';
import { MessageStore } from '../../../lib/scaler/mongo-redis/message.store.js';
import { RedisSeqCounter } from '../../../lib/scaler/mongo-redis/redis-seq.counter.js';
import { TestRedis } from '../../support/test-services.js';
import { eventually } from '../support/clients.js';

interface Outcome {
  index: number;
  position?: ChannelPosition;
  error?: Error;
}

/** Queues `count` writes at once (so they batch) and waits for every one to settle. */
function writeMany(store: MessageStore, channel: string, count: number, tag = 'w'): Promise<Outcome[]> {
  return Promise.all(
    Array.from(
      { length: count },
      (_, index) =>
        new Promise<Outcome>((resolve) =>
          store.write(channel, {
            topic: 't',
            json: JSON.stringify({ tag, index }),
            resolve: (position) => resolve({ index, position }),
            reject: (error) => resolve({ index, error }),
          }),
        ),
    ),
  );
}

/**
 * MessageStore against the real MongoDB-compatible server and a real Redis: what a publish is
 * settled from is what the store holds, whatever the store reported.
 */
describe('MessageStore on a real store', () => {
  let redisServer: TestRedis;
  let redis: Redis;
  let connection: Connection;
  const prefix = `st${randomUUID().slice(0, 6)}`;

  const stores: MessageStore[] = [];

  function storeWith(
    maxMessages = 10_000,
    maxBatchSize = 500,
    storePrefix = prefix,
    maxAgeMs = 86_400_000,
    on = connection,
  ): MessageStore {
    const store = new MessageStore(
      on,
      storePrefix,
      { maxMessages, maxAgeMs },
      maxBatchSize,
      new RedisSeqCounter(redis, storePrefix, true),
    );
    stores.push(store);
    return store;
  }

  const messages = (storePrefix = prefix) =>
    connection.db!.collection<{ c: string; s: number; j?: string; p?: 1 }>(`${storePrefix}_messages`);

  beforeAll(async () => {
    redisServer = await TestRedis.start();
    redis = new Redis(redisServer.url);
    connection = await mongoose.createConnection(`${inject('mongoBaseUrl')}/store_${prefix}`).asPromise();
    await storeWith().createIndexes();
  });

  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close(new Error('closed'))));
    await connection?.close();
    redis?.disconnect();
    await redisServer?.stop();
  });

  it('settles every write from what it reads back when a batch over 100 meets seqs another writer holds', async () => {
    const store = storeWith();
    const channel = 'collide';
    const { epoch } = await store.position(channel);
    // Another writer stored seqs 1..150, and the counter is behind them (as after a Redis failover
    // that lost increments): the first 150 seqs this writer takes collide.
    await messages().insertMany(
      Array.from({ length: 150 }, (_, i) => ({
        c: channel,
        s: i + 1,
        e: epoch,
        t: 'other',
        j: '"other"',
        at: new Date(),
      })),
    );
    await redis.set(`${prefix}:hseq:{${channel}}`, 0);
    const outcomes = await writeMany(store, channel, 250);
    expect(outcomes.filter((outcome) => outcome.error)).toEqual([]);
    const seqs = outcomes.map((outcome) => outcome.position!.seq);
    expect(new Set(seqs).size).toBe(250);
    expect(Math.min(...seqs)).toBeGreaterThan(150);
    const stored = await messages().find({ c: channel }).sort({ s: 1 }).toArray();
    const bySeq = new Map(stored.map((document) => [document.s, document]));
    // Each acknowledged seq holds exactly the message acknowledged with it.
    for (const outcome of outcomes) {
      expect(JSON.parse(bySeq.get(outcome.position!.seq)!.j!)).toEqual({ tag: 'w', index: outcome.index });
    }
    // Every seq up to the last is held exactly once: a message or a placeholder, never a hole.
    const last = Math.max(...seqs);
    expect(stored.map((document) => document.s)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    const placeholders = stored.filter((document) => document.p === 1).map((document) => document.s);
    for (const seq of placeholders) expect(seqs).not.toContain(seq);
  });

  it('gives three concurrent writers with separate counters connections one gapless order', async () => {
    const stores = [storeWith(), storeWith(), storeWith()];
    const channel = 'three';
    const results = await Promise.all(stores.map((store, which) => writeMany(store, channel, 300, `s${which}`)));
    const seqs = results.flat().map((outcome) => outcome.position!.seq);
    expect(new Set(seqs).size).toBe(900);
    const stored = await messages().find({ c: channel }).sort({ s: 1 }).toArray();
    expect(stored.map((document) => document.s)).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1));
    expect(stored.filter((document) => document.p !== 1)).toHaveLength(900);
  });

  it('closes an empty seq with a placeholder but never replaces a stored message', async () => {
    const store = storeWith();
    const channel = 'close';
    const [written] = await writeMany(store, channel, 1);
    const { epoch, seq } = written.position!;
    await store.closeSeqs(channel, epoch, [seq, seq + 1]);
    const read = await store.messagesBetween(channel, 0, seq + 1, 10);
    expect(read.map((entry) => [entry.message.seq, entry.message.placeholder ?? false, entry.message.data])).toEqual([
      [seq, false, { tag: 'w', index: 0 }],
      [seq + 1, true, undefined],
    ]);
  });

  it('seeds a counter Redis lost from the store, never reusing a stored seq', async () => {
    const store = storeWith();
    const channel = 'seed';
    await writeMany(store, channel, 10);
    await redis.del(`${prefix}:hseq:{${channel}}`);
    expect(await store.position(channel)).toMatchObject({ seq: 10 });
    const [next] = await writeMany(store, channel, 1);
    expect(next.position!.seq).toBe(11);
  });

  it('seeds every counter Redis lost with one read for all instances, and goes on without reusing a seq', async () => {
    const writers = [storeWith(), storeWith(), storeWith()];
    const channels = ['lost-a', 'lost-b', 'lost-c'];
    for (const channel of channels) await writeMany(writers[0], channel, 5);
    await redis.flushall();
    const scans = vi.spyOn(MessageStore.prototype as unknown as { seedAll(): Promise<void> }, 'seedAll');
    const results = await Promise.all(
      writers.flatMap((store, which) => channels.map((channel) => writeMany(store, channel, 3, `after${which}`))),
    );
    expect(results.flat().filter((outcome) => outcome.error)).toEqual([]);
    expect(scans).toHaveBeenCalledTimes(1);
    for (const channel of channels) {
      const stored = await messages().find({ c: channel }).sort({ s: 1 }).toArray();
      expect(stored.filter((document) => document.p !== 1)).toHaveLength(14);
      expect(stored.map((document) => document.s)).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1));
    }
  });

  it('seeds a counter lost right after another seeding from the store too (never from 0)', async () => {
    const [first, second] = [storeWith(), storeWith()];
    await writeMany(first, 'again-a', 3);
    await writeMany(second, 'again-b', 10);
    await redis.del(`${prefix}:hseq:{again-a}`);
    await writeMany(first, 'again-a', 1);
    // Lost a moment later: the seeding above must not count for it.
    await redis.del(`${prefix}:hseq:{again-b}`);
    expect(await second.position('again-b')).toMatchObject({ seq: 10 });
  });

  it('trims each channel to about maxMessages, oldest first', async () => {
    // A prefix of its own: trimming takes turns among the instances of one prefix.
    const store = storeWith(20, 5, `${prefix}t`);
    await store.createIndexes();
    const channel = 'trim';
    for (let round = 0; round < 12; round++) await writeMany(store, channel, 5);
    // Trimming runs beside the writes: wait for it to settle.
    await eventually(async () => {
      const stored = await messages(`${prefix}t`).find({ c: channel }).sort({ s: 1 }).toArray();
      expect(stored.map((document) => document.s)).toEqual(Array.from({ length: 20 }, (_, i) => 41 + i));
    }, 10_000);
  });

  it('raises the bound of a channel about to lose its newest message to age, and of no channel still written', async () => {
    const agePrefix = `${prefix}a`;
    const store = storeWith(10_000, 500, agePrefix, 1_000);
    await store.createIndexes();
    await writeMany(store, 'idle', 4);
    await writeMany(store, 'active', 3);
    await writeMany(store, 'crashed', 2);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await writeMany(store, 'active', 1);
    // Two seqs taken by a publisher that died before storing them.
    await redis.incrby(`${agePrefix}:hseq:{crashed}`, 2);
    await store.trimByAge(1_000);
    const left = await messages(agePrefix).find().toArray();
    expect(left.map((document) => `${document.c}#${document.s}`)).toEqual(['active#4']);
    const bounds = await connection
      .db!.collection<{ _id: string; s: number }>(`${agePrefix}_channels`)
      .find()
      .sort({ _id: 1 })
      .toArray();
    expect(bounds.map((document) => [document._id, document.s])).toEqual([
      ['active', 0],
      ['crashed', 2],
      ['idle', 4],
    ]);
    // Redis loses the counters: none starts again below what was stored.
    await redis.del(`${agePrefix}:hseq:{idle}`, `${agePrefix}:hseq:{crashed}`, `${agePrefix}:hseq:{active}`);
    const [idle] = await writeMany(store, 'idle', 1);
    const [crashed] = await writeMany(store, 'crashed', 1);
    const [active] = await writeMany(store, 'active', 1);
    expect([idle.position?.seq, crashed.position?.seq, active.position?.seq]).toEqual([5, 3, 5]);
  });

  it('writes no channel document on the write path (an update costs FerretDB a scan of the collection)', async () => {
    const watched = await mongoose
      .createConnection(`${inject('mongoBaseUrl')}/store_${prefix}`, { monitorCommands: true })
      .asPromise();
    try {
      const updates: string[] = [];
      watched.getClient().on('commandStarted', (event) => {
        if (['update', 'findAndModify'].includes(event.commandName)) updates.push(JSON.stringify(event.command));
      });
      const store = storeWith(10_000, 500, prefix, 86_400_000, watched);
      for (let channel = 0; channel < 20; channel++) await writeMany(store, `quiet-${channel}`, 3);
      await store.close(new Error('closed'));
      expect(updates).toEqual([]);
    } finally {
      await watched.close();
    }
  });
});
