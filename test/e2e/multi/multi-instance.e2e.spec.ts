import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SssClient, SssMessageMeta, SssSubscription } from '../../../lib/client/index.js';
import { NestFactory } from '@nestjs/core';
import { SssModule, SssPublisher } from '../../../lib/index.js';
import { MongoRedisScaler } from '../../../lib/mongo-redis.js';
import { TcpBalancer } from '../../support/tcp-balancer.js';
import { ClientPool, eventually, sleep } from '../support/clients.js';
import { buildInstanceFixture, TestCluster } from './cluster.js';

interface Tick {
  tag: string;
  index: number;
}

/** Everything a subscription received, with its seqs, for exactly-once and order checks. */
function collect(subscription: SssSubscription): { seqs: number[]; ticks: Tick[] } {
  const received = { seqs: [] as number[], ticks: [] as Tick[] };
  subscription.on<Tick>('tick', (tick, meta: SssMessageMeta) => {
    received.seqs.push(meta.seq);
    received.ticks.push(tick);
  });
  return received;
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/** Publishes through an instance every few ms until stopped; resolves with the last seq. */
function publishSteadily(cluster: TestCluster, name: string, channel: string, everyMs = 10) {
  let stopped = false;
  let lastSeq = 0;
  let failures = 0;
  const loop = (async () => {
    let index = 0;
    while (!stopped) {
      const result = await cluster.post<{ seq: number }>(name, '/publish', {
        channel,
        data: { tag: name, index: index++ },
      });
      if (result.status === 201) lastSeq = Math.max(lastSeq, result.body.seq);
      else failures++;
      await sleep(everyMs);
    }
  })();
  return {
    async stop(): Promise<{ lastSeq: number; failures: number }> {
      stopped = true;
      await loop;
      return { lastSeq, failures };
    },
  };
}

describe('many instances on Redis and a MongoDB-compatible store', () => {
  let cluster: TestCluster;
  const pool = new ClientPool(() => cluster.url);
  const privateBalancers: TcpBalancer[] = [];

  /** A client pinned to one instance through a balancer of its own, to move it at will. */
  async function pinnedClient(instance: string): Promise<{ client: SssClient; gate: TcpBalancer }> {
    const gate = await TcpBalancer.start([cluster.instance(instance).port]);
    privateBalancers.push(gate);
    const client = await pool.connect({}, `ws://127.0.0.1:${gate.port}/sss`);
    expect(await client.ask('instance')).toBe(instance);
    return { client, gate };
  }

  async function moveClient(gate: TcpBalancer, toInstance: string): Promise<void> {
    gate.backends = [cluster.instance(toInstance).port];
    gate.cut();
  }

  beforeAll(async () => {
    buildInstanceFixture();
    cluster = await TestCluster.start(3, 100);
  }, 120_000);

  afterEach(async () => {
    await pool.closeAll();
    await Promise.all(privateBalancers.splice(0).map((gate) => gate.down()));
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('fans out a publish on one instance to subscribers on every instance, in order', async () => {
    const clients = await Promise.all(range(1, 6).map(() => pool.connect()));
    const instances = await Promise.all(clients.map((client) => client.ask<string>('instance')));
    expect(new Set(instances)).toEqual(new Set(['i0', 'i1', 'i2']));
    const received = await Promise.all(clients.map(async (client) => collect(await client.subscribe('feed/fanout'))));
    const { body: seqs } = await cluster.post<number[]>('i0', '/burst', {
      channel: 'feed/fanout',
      count: 50,
      tag: 'i0',
    });
    expect(seqs).toEqual(range(1, 50));
    await eventually(() => received.forEach((r) => expect(r.seqs).toEqual(range(1, 50))));
    for (const r of received) expect(r.ticks.map((tick) => tick.index)).toEqual(range(0, 49));
  });

  it('gives one total order to concurrent publishers on different instances', async () => {
    const clients = await Promise.all(range(1, 6).map(() => pool.connect()));
    const received = await Promise.all(clients.map(async (client) => collect(await client.subscribe('feed/order'))));
    const bursts = await Promise.all(
      ['i0', 'i1', 'i2'].map((name) =>
        cluster.post<number[]>(name, '/burst', { channel: 'feed/order', count: 100, tag: name }),
      ),
    );
    const allSeqs = bursts.flatMap((burst) => burst.body).sort((a, b) => a - b);
    expect(allSeqs).toEqual(range(1, 300));
    await eventually(() => received.forEach((r) => expect(r.seqs).toEqual(range(1, 300))), 10_000);
    const reference = JSON.stringify(received[0].ticks);
    for (const r of received) expect(JSON.stringify(r.ticks)).toBe(reference);
    // Each publisher's own messages keep the order it published them in.
    for (const name of ['i0', 'i1', 'i2']) {
      const own = received[0].ticks.filter((tick) => tick.tag === name).map((tick) => tick.index);
      expect(own).toEqual(range(0, 99));
    }
  });

  it('stored means stored: 3 processes publishing 400 at once each (batches over 100) agree on every seq', async () => {
    const clients = await Promise.all(range(1, 3).map(() => pool.connect()));
    const received = await Promise.all(clients.map(async (client) => collect(await client.subscribe('feed/collide'))));
    const bursts = await Promise.all(
      ['i0', 'i1', 'i2'].map((name) =>
        cluster.post<number[]>(name, '/burst', { channel: 'feed/collide', count: 400, tag: name }),
      ),
    );
    const acknowledged = new Map<number, string>();
    bursts.forEach((burst, which) => {
      expect(burst.status).toBe(201);
      burst.body.forEach((seq, index) => {
        expect(acknowledged.has(seq), `seq ${seq} acknowledged twice`).toBe(false);
        acknowledged.set(seq, `i${which}:${index}`);
      });
    });
    expect(acknowledged.size).toBe(1200);
    const lastSeq = Math.max(...acknowledged.keys());
    for (const r of received) {
      await eventually(() => expect(r.seqs.filter((seq) => acknowledged.has(seq))).toHaveLength(1200), 20_000);
      // Every acknowledged seq holds exactly the message that was acknowledged with it, once, in order.
      const got = r.seqs.map((seq, at) => [seq, `${r.ticks[at].tag}:${r.ticks[at].index}`] as const);
      expect(got.map(([seq]) => seq)).toEqual([...new Set(r.seqs)].sort((a, b) => a - b));
      for (const [seq, id] of got) expect(acknowledged.get(seq)).toBe(id);
      expect(r.seqs[r.seqs.length - 1]).toBe(lastSeq);
    }
  }, 60_000);

  it('lets a publisher-only process (no HTTP server, no sockets) publish to every instance', async () => {
    const clients = await Promise.all(range(1, 3).map(() => pool.connect()));
    const received = await Promise.all(clients.map(async (client) => collect(await client.subscribe('feed/worker'))));
    const worker = await NestFactory.createApplicationContext(
      SssModule.forRoot({ scaler: new MongoRedisScaler({ redis: cluster.redis.url, mongo: cluster.mongoUrl }) }),
      { logger: ['error', 'warn'] },
    );
    try {
      const publisher = worker.get(SssPublisher);
      for (let index = 0; index < 5; index++) await publisher.publish('feed/worker', 'tick', { tag: 'worker', index });
    } finally {
      await worker.close();
    }
    await eventually(() => received.forEach((r) => expect(r.seqs).toEqual(range(1, 5))));
  });

  it('recovers a client that moves to another instance: nothing lost, duplicated or out of order', async () => {
    const { client, gate } = await pinnedClient('i0');
    const received = collect(await client.subscribe('feed/move'));
    const reconnects: unknown[] = [];
    client.on('reconnect', (event) => reconnects.push(event));
    const publishing = publishSteadily(cluster, 'i1', 'feed/move');
    await eventually(() => expect(received.seqs.length).toBeGreaterThan(10));
    await moveClient(gate, 'i2');
    await eventually(() => expect(reconnects).toHaveLength(1));
    expect(await client.ask('instance')).toBe('i2');
    await sleep(200);
    const { lastSeq } = await publishing.stop();
    await eventually(() => expect(received.seqs).toEqual(range(1, lastSeq)));
    expect(reconnects[0]).toEqual({ recovered: true, subscriptions: [{ channel: 'feed/move', recovered: true }] });
  });

  it('says recovered: false (out_of_retention) when more than the retained history was missed', async () => {
    const { client, gate } = await pinnedClient('i0');
    const subscription = await client.subscribe('feed/far');
    const resubscribed: unknown[] = [];
    subscription.onEvent('resubscribed', (event) => resubscribed.push(event));
    await gate.down();
    await cluster.post('i1', '/burst', { channel: 'feed/far', count: 150, tag: 'i1' });
    gate.backends = [cluster.instance('i1').port];
    await gate.up();
    await eventually(() => expect(resubscribed).toEqual([{ recovered: false, reason: 'out_of_retention' }]), 10_000);
    expect(subscription.position.seq).toBe(150);
  });

  it('re-checks the subscription guard on the new instance: a revoked subscription is refused', async () => {
    const { client, gate } = await pinnedClient('i0');
    await cluster.redis.url; // the guard reads passwords from the cluster's Redis
    const { Redis } = await import('ioredis');
    const redis = new Redis(cluster.redis.url);
    try {
      await redis.set('fixture:vip:1', 'first');
      const vip = await client.subscribe('vip/1', { password: 'first' });
      const closed: Array<string | undefined> = [];
      vip.onEvent('closed', ({ error }) => closed.push(error?.code));
      await redis.set('fixture:vip:1', 'second');
      await moveClient(gate, 'i1');
      await eventually(() => expect(closed).toEqual(['FORBIDDEN']));
    } finally {
      await redis.quit();
    }
  });

  it('recovers every client of an instance killed with SIGKILL mid-stream on the others', async () => {
    const clients = await Promise.all(range(1, 6).map(() => pool.connect()));
    const instances = await Promise.all(clients.map((client) => client.ask<string>('instance')));
    expect(instances.filter((name) => name === 'i2').length).toBeGreaterThan(0);
    const received = await Promise.all(clients.map(async (client) => collect(await client.subscribe('feed/kill'))));
    const publishing = publishSteadily(cluster, 'i0', 'feed/kill');
    await eventually(() => received.forEach((r) => expect(r.seqs.length).toBeGreaterThan(5)));
    await cluster.kill('i2');
    await sleep(500);
    const { lastSeq } = await publishing.stop();
    await eventually(() => received.forEach((r) => expect(r.seqs).toEqual(range(1, lastSeq))), 15_000);
    const after = await Promise.all(clients.map((client) => client.ask<string>('instance')));
    expect(after).not.toContain('i2');
    await cluster.startInstance('i2');
  }, 40_000);

  it('loses nothing when Redis restarts (empty) mid-stream', async () => {
    const clients = await Promise.all(range(1, 6).map(() => pool.connect()));
    const received = await Promise.all(clients.map(async (client) => collect(await client.subscribe('feed/redis'))));
    const publishing = publishSteadily(cluster, 'i0', 'feed/redis');
    await eventually(() => received.forEach((r) => expect(r.seqs.length).toBeGreaterThan(5)));
    await cluster.redis.restart(300);
    await sleep(1_500);
    const { lastSeq, failures } = await publishing.stop();
    expect(failures).toBe(0);
    await eventually(() => received.forEach((r) => expect(r.seqs).toEqual(range(1, lastSeq))), 15_000);
  }, 40_000);

  it('rejects publishes while MongoDB is unreachable, and goes on gaplessly afterwards', async () => {
    const client = await pool.connect();
    const errors: unknown[] = [];
    client.on('error', (error) => errors.push(error));
    const subscription = await client.subscribe('feed/store');
    const received = collect(subscription);
    const before = await cluster.post<{ seq: number }>('i0', '/publish', {
      channel: 'feed/store',
      data: { tag: 'x', index: 0 },
    });
    expect(before).toEqual({ status: 201, body: expect.objectContaining({ seq: 1 }) });
    await cluster.mongoGate.down();
    try {
      const during = await cluster.post<{ message: string }>('i0', '/publish', {
        channel: 'feed/store',
        data: { tag: 'x', index: 1 },
      });
      expect(during.status).toBe(503);
      expect(during.body.message).toMatch(/could not be stored/);
      const newcomer = await pool.connect();
      await expect(newcomer.subscribe('feed/store-later')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      await cluster.mongoGate.up();
    }
    await eventually(async () => {
      const after = await cluster.post<{ seq: number }>('i0', '/publish', {
        channel: 'feed/store',
        data: { tag: 'x', index: 2 },
      });
      expect(after.status).toBe(201);
    }, 15_000);
    const latecomer = await pool.connect();
    await latecomer.subscribe('feed/store-later');
    await eventually(() => expect(received.seqs.length).toBeGreaterThanOrEqual(2), 10_000);
    // The failed publish was never acknowledged nor delivered. A seq it may have taken is closed
    // with a placeholder (a `skip`), so the order goes on without a gap the client could see.
    expect(received.ticks.map((tick) => tick.index)).not.toContain(1);
    expect(received.seqs[0]).toBe(1);
    expect(received.seqs).toEqual([...received.seqs].sort((a, b) => a - b));
    expect(subscription.position.seq).toBe(received.seqs[received.seqs.length - 1]);
    expect(errors).toEqual([]);
  }, 40_000);
});
