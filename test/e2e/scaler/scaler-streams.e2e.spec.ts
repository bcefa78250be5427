import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { inject } from 'vitest';
import { MessageNotEncodableError, MongoRedisScaler, RedisScaler } from '../../../lib/mongo-redis.js';
import { MessageStore } from '../../../lib/scaler/mongo-redis/message.store.js';
import type { Scaler, ScalerListener, ScalerMessage } from '../../../lib/scaler/scaler.interface.js';
import { TcpBalancer } from '../../support/tcp-balancer.js';
import { TestRedis } from '../../support/test-services.js';
import { eventually, sleep } from '../support/clients.js';

/** What a scaler delivered, in order. */
class Recorder implements ScalerListener {
  readonly messages: ScalerMessage[] = [];
  onMessage(message: ScalerMessage): void {
    this.messages.push(message);
  }
  onSignal(): void {}
  onPresence(): void {}
  seqs(channel: string): Array<number | string> {
    return this.messages
      .filter((message) => message.channel === channel)
      .map((message) => (message.placeholder ? `skip ${message.seq}` : message.seq));
  }
}

/**
 * The scalers' own streams against real Redis and a real MongoDB-compatible store: gap filling,
 * closing seqs that were taken and never stored, catching up after Redis reconnects, recovery from
 * memory, and publishes that cannot be encoded.
 */
describe('scaler streams on real servers', () => {
  let redisServer: TestRedis;
  /** Redis as the subscribing instance sees it: a gate that can cut its connections. */
  let redisGate: TcpBalancer;
  let mongoGate: TcpBalancer;
  let redis: Redis;
  let connection: Connection;
  const database = `streams_${randomUUID().slice(0, 6)}`;
  const prefix = 'ss';
  const opened: Scaler[] = [];

  async function historyScaler(
    through: 'gate' | 'direct',
    listener = new Recorder(),
    extra: Partial<ConstructorParameters<typeof MongoRedisScaler>[0]> = {},
  ): Promise<{ scaler: MongoRedisScaler; listener: Recorder }> {
    const redisUrl = through === 'gate' ? `redis://127.0.0.1:${redisGate.port}` : redisServer.url;
    const scaler = new MongoRedisScaler({
      redis: redisUrl,
      mongo: `mongodb://127.0.0.1:${mongoGate.port}/${database}`,
      mongoOptions: { serverSelectionTimeoutMS: 1_000 },
      prefix,
      gapFillDelay: 50,
      gapTimeout: 500,
      ...extra,
    });
    await scaler.connect(listener);
    opened.push(scaler);
    return { scaler, listener };
  }

  beforeAll(async () => {
    redisServer = await TestRedis.start();
    redisGate = await TcpBalancer.start([redisServer.port]);
    mongoGate = await TcpBalancer.start([Number(new URL(inject('mongoBaseUrl')).port)]);
    redis = new Redis(redisServer.url);
    connection = await mongoose.createConnection(`${inject('mongoBaseUrl')}/${database}`).asPromise();
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(opened.splice(0).map((scaler) => scaler.close()));
  });

  afterAll(async () => {
    await connection?.close();
    redis?.disconnect();
    await redisGate?.down();
    await mongoGate?.down();
    await redisServer?.stop();
  });

  it('closes a seq taken by a publisher that died before storing it; what follows is delivered', async () => {
    const { scaler, listener } = await historyScaler('direct');
    await scaler.subscribe('died');
    await scaler.publish('died', 't', 1);
    // A publisher takes seq 2 and dies before its insert.
    await redis.incrby(`${prefix}:hseq:{died}`, 1);
    await scaler.publish('died', 't', 3);
    await eventually(() => expect(listener.seqs('died')).toEqual([1, 'skip 2', 3]), 5_000);
  });

  it('delivers a seq stored late (after the first gap read) instead of skipping it', async () => {
    const { scaler, listener } = await historyScaler('direct', new Recorder(), { gapTimeout: 2_000 });
    await scaler.subscribe('late');
    const { epoch } = await scaler.position('late');
    // A slow publisher took seq 1; seq 2 is stored and fanned out first.
    await redis.incrby(`${prefix}:hseq:{late}`, 1);
    await scaler.publish('late', 't', 2);
    await sleep(300); // several gap reads find nothing at seq 1
    expect(listener.seqs('late')).toEqual([]);
    await connection
      .db!.collection(`${prefix}_messages`)
      .insertOne({ c: 'late', s: 1, e: epoch, t: 't', j: '1', at: new Date() });
    await eventually(() => expect(listener.seqs('late')).toEqual([1, 2]), 5_000);
    expect(listener.messages.find((message) => message.seq === 1)?.data).toBe(1);
  });

  /**
   * A subscriber behind the Redis gate gets seq 1 of `channel`; then the gate goes down and a
   * publisher on direct Redis publishes 2..6, which the subscriber misses (the gate stays down).
   */
  async function missSeqsTwoToSix(channel: string) {
    const { scaler, listener } = await historyScaler('gate');
    const { scaler: publisher } = await historyScaler('direct');
    await scaler.subscribe(channel);
    await publisher.publish(channel, 't', 1);
    await eventually(() => expect(listener.seqs(channel)).toEqual([1]));
    await redisGate.down();
    for (let index = 2; index <= 6; index++) await publisher.publish(channel, 't', index);
    return { scaler, listener, publisher };
  }

  it('reads back everything published while its Redis connection was down', async () => {
    const { listener } = await missSeqsTwoToSix('outage');
    await sleep(200);
    await redisGate.up();
    await eventually(() => expect(listener.seqs('outage')).toEqual([1, 2, 3, 4, 5, 6]), 10_000);
  });

  it("after a Redis outage, fills what a busy channel missed from Redis's window: no store read", async () => {
    const { scaler, listener, publisher } = await missSeqsTwoToSix('busy');
    const reads = vi.spyOn(MessageStore.prototype, 'messagesBetween');
    const closes = vi.spyOn(MessageStore.prototype, 'closeAndRead');
    await redisGate.up();
    await eventually(async () => expect((await scaler.checkHealth()).redis.up).toBe(true));
    // The channel goes on: what arrives shows the seqs it missed as a gap.
    for (let index = 7; index <= 12; index++) {
      await publisher.publish('busy', 't', index);
      await sleep(50);
    }
    await eventually(() => expect(listener.seqs('busy')).toEqual(Array.from({ length: 12 }, (_, i) => i + 1)), 10_000);
    await sleep(600); // past gapTimeout: no read on by range either
    expect(reads).not.toHaveBeenCalled();
    expect(closes).not.toHaveBeenCalled();
  });

  it('serves a recovery from memory, without reading the store', async () => {
    const { scaler } = await historyScaler('direct');
    await scaler.subscribe('memory');
    for (let index = 1; index <= 50; index++) await scaler.publish('memory', 't', index);
    const { epoch } = await scaler.position('memory');
    await eventually(async () => expect(await scaler.position('memory')).toEqual({ epoch, seq: 50 }));
    const reads = vi.spyOn(MessageStore.prototype, 'messagesBetween');
    await mongoGate.down();
    try {
      const history = await scaler.historySince('memory', { epoch, seq: 10 });
      expect(history).toMatchObject({ recovered: true });
      expect(history.recovered && history.messages.map((message) => message.data)).toEqual(
        Array.from({ length: 40 }, (_, i) => i + 11),
      );
    } finally {
      await mongoGate.up();
    }
    expect(reads).not.toHaveBeenCalled();
  });

  it('reads the store once for a newly followed channel and 100 concurrent recoveries of it (no Redis window)', async () => {
    const { scaler: publisher } = await historyScaler('direct', new Recorder(), { recentInRedis: 0 });
    for (let index = 1; index <= 30; index++) await publisher.publish('shared', 't', index);
    const { scaler } = await historyScaler('direct', new Recorder(), { recentInRedis: 0 });
    const reads = vi.spyOn(MessageStore.prototype, 'messagesBetween');
    // Following a channel reads its recent history once; the recoveries share that read.
    await scaler.subscribe('shared');
    const { epoch } = await scaler.position('shared');
    const histories = await Promise.all(
      Array.from({ length: 100 }, () => scaler.historySince('shared', { epoch, seq: 5 })),
    );
    for (const history of histories) {
      expect(history.recovered && history.messages.map((message) => message.seq)).toEqual(
        Array.from({ length: 25 }, (_, i) => i + 6),
      );
    }
    expect(reads).toHaveBeenCalledTimes(1);
    // What was read now sits in memory: the next recovery reads nothing.
    await scaler.historySince('shared', { epoch, seq: 7 });
    expect(reads).toHaveBeenCalledTimes(1);
  });

  it("takes a newly followed channel's recent history from Redis's window: recoveries need no store read", async () => {
    const { scaler: publisher } = await historyScaler('direct');
    for (let index = 1; index <= 30; index++) await publisher.publish('window', 't', index);
    const { scaler } = await historyScaler('direct');
    const reads = vi.spyOn(MessageStore.prototype, 'messagesBetween');
    await scaler.subscribe('window');
    const { epoch } = await scaler.position('window');
    await mongoGate.down();
    try {
      const histories = await Promise.all(
        Array.from({ length: 100 }, () => scaler.historySince('window', { epoch, seq: 5 })),
      );
      for (const history of histories) {
        expect(history.recovered && history.messages.map((message) => message.data)).toEqual(
          Array.from({ length: 25 }, (_, i) => i + 6),
        );
      }
    } finally {
      await mongoGate.up();
    }
    expect(reads).not.toHaveBeenCalled();
  });

  it("keeps the newest recentInRedis messages of a channel in Redis's window, with an expiry", async () => {
    const { scaler: publisher } = await historyScaler('direct', new Recorder(), { recentInRedis: 8 });
    for (let index = 1; index <= 20; index++) await publisher.publish('kept', 't', index);
    const key = `${prefix}:recent:{kept}`;
    // The add follows the publish's acknowledgement.
    await eventually(async () => {
      const scored = await redis.zrange(key, '0', '-1', 'WITHSCORES');
      const seqs = scored.filter((_, index) => index % 2 === 1).map(Number);
      expect(seqs).toEqual(Array.from({ length: 8 }, (_, i) => i + 13));
    });
    expect(await redis.pttl(key)).toBeGreaterThan(0);
  });

  it('warms a newly followed channel up from the Redis window while its newest message is being stored', async () => {
    const { scaler: publisher } = await historyScaler('direct');
    let last = { epoch: '', seq: 0 };
    for (let index = 1; index <= 20; index++) last = await publisher.publish('in-flight', 't', index);
    // The next publish takes seq 21 at once and stores it a moment later: the counter is ahead of
    // the window, as it nearly always is under load.
    type Insert = (this: MessageStore, ...args: unknown[]) => Promise<unknown>;
    const prototype = MessageStore.prototype as unknown as { insert: Insert };
    const insert = prototype.insert;
    vi.spyOn(prototype, 'insert').mockImplementation(async function (this: MessageStore, ...args: unknown[]) {
      await sleep(150);
      return insert.apply(this, args);
    });
    const late = publisher.publish('in-flight', 't', 21);
    await eventually(async () => expect(await redis.get(`${prefix}:hseq:{in-flight}`)).toBe('21'));
    const reads = vi.spyOn(MessageStore.prototype, 'messagesBetween');
    const { scaler } = await historyScaler('direct');
    await scaler.subscribe('in-flight');
    expect((await late).seq).toBe(21);
    const history = await scaler.historySince('in-flight', { epoch: last.epoch, seq: 5 });
    expect(history.recovered && history.messages.map((message) => message.data)).toEqual(
      Array.from({ length: 16 }, (_, i) => i + 6),
    );
    expect(reads).not.toHaveBeenCalled();
  });

  it('closes a newest seq abandoned by its publisher by key while warming up, without a range read', async () => {
    const { scaler: publisher } = await historyScaler('direct');
    let last = { epoch: '', seq: 0 };
    for (let index = 1; index <= 20; index++) last = await publisher.publish('abandoned', 't', index);
    // A publisher takes seq 21 and dies before storing it.
    await redis.incrby(`${prefix}:hseq:{abandoned}`, 1);
    const reads = vi.spyOn(MessageStore.prototype, 'messagesBetween');
    const { scaler } = await historyScaler('direct');
    await scaler.subscribe('abandoned');
    const history = await scaler.historySince('abandoned', { epoch: last.epoch, seq: 5 });
    expect(history.recovered && history.messages.map((message) => message.placeholder ?? message.data)).toEqual([
      ...Array.from({ length: 15 }, (_, i) => i + 6),
      true,
    ]);
    expect(reads).not.toHaveBeenCalled();
  });

  it('falls back to the store when the Redis window has a hole', async () => {
    const { scaler: publisher } = await historyScaler('direct');
    for (let index = 1; index <= 20; index++) await publisher.publish('holed', 't', index);
    // Redis lost seq 10 of the window (a failed add): the store still has it.
    const members = await redis.zrangebyscore(`${prefix}:recent:{holed}`, 10, 10);
    expect(members).toHaveLength(1);
    await redis.zrem(`${prefix}:recent:{holed}`, members[0]);
    const { scaler } = await historyScaler('direct');
    await scaler.subscribe('holed');
    const { epoch } = await scaler.position('holed');
    const reads = vi.spyOn(MessageStore.prototype, 'messagesBetween');
    const history = await scaler.historySince('holed', { epoch, seq: 2 });
    expect(history.recovered && history.messages.map((message) => message.data)).toEqual(
      Array.from({ length: 18 }, (_, i) => i + 3),
    );
    expect(reads).toHaveBeenCalledTimes(1);
  });

  it('seeds the counter of a followed channel that Redis lost from what it has seen, without a scan', async () => {
    const { scaler, listener } = await historyScaler('direct');
    await scaler.subscribe('flushed');
    for (let index = 1; index <= 20; index++) await scaler.publish('flushed', 't', index);
    await eventually(() => expect(listener.seqs('flushed')).toHaveLength(20));
    await redis.flushall();
    const scans = vi.spyOn(MessageStore.prototype as unknown as { seedAll(): Promise<void> }, 'seedAll');
    const next = await scaler.publish('flushed', 't', 21);
    expect(next.seq).toBe(21);
    expect(scans).not.toHaveBeenCalled();
    await eventually(() => expect(listener.seqs('flushed')).toEqual(Array.from({ length: 21 }, (_, i) => i + 1)));
  });

  it('never calls a position invalid when the store holds it, even if the seq counter was seeded too low', async () => {
    const { scaler } = await historyScaler('direct');
    let last = { epoch: '', seq: 0 };
    for (let index = 1; index <= 5; index++) last = await scaler.publish('seeded', 't', index);
    // Redis lost the counter and it was seeded before seqs 4 and 5 were stored.
    await redis.set(`${prefix}:hseq:{seeded}`, 3);
    const { scaler: other } = await historyScaler('direct');
    expect(await other.historySince('seeded', last)).toEqual({ recovered: true, epoch: last.epoch, messages: [] });
    expect(await other.historySince('seeded', { ...last, seq: 6 })).toMatchObject({
      recovered: false,
      reason: 'invalid_position',
    });
    const next = await scaler.publish('seeded', 't', 6);
    expect(next.seq).toBe(6);
  });

  it('rejects a publish it cannot encode before storing anything, and the channel goes on', async () => {
    const { scaler, listener } = await historyScaler('direct');
    await scaler.subscribe('bigint');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(scaler.publish('bigint', 't', { n: 10n })).rejects.toBeInstanceOf(MessageNotEncodableError);
    await expect(scaler.publish('bigint', 't', cyclic)).rejects.toBeInstanceOf(MessageNotEncodableError);
    const next = await scaler.publish('bigint', 't', 'fine');
    expect(next.seq).toBe(1);
    await eventually(() => expect(listener.seqs('bigint')).toEqual([1]));
  });

  it('under load, stores what is published within minInsertInterval in one insert, with one Redis script per step', async () => {
    const { scaler, listener } = await historyScaler('direct', new Recorder(), { minInsertInterval: 1_000 });
    const channels = Array.from({ length: 9 }, (_, index) => `batched-${index}`);
    for (const channel of channels) await scaler.subscribe(channel);
    // The first insert is held until four more publishes are queued, so that they find the store busy.
    type Insert = (this: MessageStore, ...args: unknown[]) => Promise<unknown>;
    const prototype = MessageStore.prototype as unknown as { insert: Insert; write: (...args: unknown[]) => void };
    const insert = prototype.insert;
    const inserts: number[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    vi.spyOn(prototype, 'insert').mockImplementation(async function (this: MessageStore, ...args: unknown[]) {
      inserts.push((args[0] as unknown[]).length);
      if (inserts.length === 1) await held;
      return insert.apply(this, args);
    });
    const queued = vi.spyOn(prototype, 'write');
    const monitor = await redis.monitor();
    const scripts: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (/^eval/i.test(args[0]) && args.some((arg) => arg.includes('{batched-'))) scripts.push(args);
    });
    const queuedHere = () => queued.mock.calls.filter(([channel]) => String(channel).startsWith('batched-')).length;
    const published = [scaler.publish(channels[0], 't', 0)];
    try {
      await eventually(() => expect(inserts).toEqual([1]));
      for (let index = 1; index < 5; index++) published.push(scaler.publish(channels[index], 't', index));
      await eventually(() => expect(queuedHere()).toBe(5));
    } finally {
      // Even when a check above failed: a held insert would stall the scaler's close.
      release();
    }
    // The last four come after the first insert ended, 10 ms apart: within the interval, they go
    // with the four that waited (the next insert starts 1 s after the first one did).
    for (let index = 5; index < channels.length; index++) {
      await sleep(10);
      published.push(scaler.publish(channels[index], 't', index));
    }
    const positions = await Promise.all(published);
    expect(positions.map((position) => position.seq)).toEqual(channels.map(() => 1));
    expect(inserts).toEqual([1, 8]);
    await eventually(() => expect(channels.map((channel) => listener.seqs(channel))).toEqual(channels.map(() => [1])));
    await eventually(() => expect(scripts).toHaveLength(4));
    monitor.disconnect();
    // Per batch: one script takes the seqs of all its channels, one adds all its messages to the
    // window and publishes them.
    const counterKeys = (args: string[]) => args.filter((arg) => arg.startsWith(`${prefix}:hseq:`)).length;
    const windowKeys = (args: string[]) => args.filter((arg) => arg.startsWith(`${prefix}:recent:`)).length;
    expect(scripts.map((args) => [counterKeys(args), windowKeys(args)])).toEqual([
      [1, 0],
      [0, 1],
      [8, 0],
      [0, 8],
    ]);
  });

  it('never holds a publisher that awaits each publish (the store is idle when it comes)', async () => {
    const { scaler } = await historyScaler('direct', new Recorder(), { minInsertInterval: 1_000 });
    const started = performance.now();
    for (let index = 1; index <= 5; index++) expect((await scaler.publish('awaited', 't', index)).seq).toBe(index);
    // Held, each would wait for the interval: at least 4 s. Five round trips take far less, even on
    // a loaded machine.
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  describe('with history off (RedisScaler)', () => {
    it('reports messages Redis dropped while it was disconnected as a jump, never silently', async () => {
      const listener = new Recorder();
      const subscriber = new RedisScaler({ redis: `redis://127.0.0.1:${redisGate.port}`, prefix });
      const publisher = new RedisScaler({ redis: redisServer.url, prefix });
      await subscriber.connect(listener);
      await publisher.connect(new Recorder());
      opened.push(subscriber, publisher);
      await subscriber.subscribe('off');
      await publisher.publish('off', 't', 1);
      await eventually(() => expect(listener.seqs('off')).toEqual([1]));
      await redisGate.down();
      await publisher.publish('off', 't', 2);
      await publisher.publish('off', 't', 3);
      await redisGate.up();
      // Seqs 2 and 3 are gone: subscribers see the jump to 3 (a placeholder) and re-subscribe.
      await eventually(() => expect(listener.seqs('off')).toEqual([1, 'skip 3']), 10_000);
      await publisher.publish('off', 't', 4);
      await eventually(() => expect(listener.seqs('off')).toEqual([1, 'skip 3', 4]));
      await expect(publisher.publish('off', 't', { n: 1n })).rejects.toBeInstanceOf(MessageNotEncodableError);
    });
  });
});
